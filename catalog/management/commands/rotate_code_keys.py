"""``manage.py rotate_code_keys``: re-encrypt the pool under the newest key.

Put the new key first in ``CODE_ENCRYPTION_KEYS`` (keeping the old ones),
run this, then remove the old keys: every code still reads.
"""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import services, vault


class Command(BaseCommand):
    help = "Re-encrypt every stored code, PIN and serial under the newest key."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=services.ROTATE_BATCH_SIZE,
            help="codes per transaction (default %(default)s)",
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        bar = None

        def progress(phase: str, done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(
                    total=total,
                    desc="rotate",
                    unit="code",
                    disable=options["verbosity"] == 0,
                    leave=False,
                )
            bar.update(done)

        try:
            summary = services.codes_rotate_keys(
                batch_size=options["batch_size"], progress=progress
            )
        except vault.VaultError as exc:
            raise CommandError(
                f"{exc}; the codes before it were re-encrypted"
            ) from None
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(
            f"{summary.rotated} codes re-encrypted under the newest key; "
            f"{summary.already_current} were already."
        )
