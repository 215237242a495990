"""``manage.py import_codes --sku SKU FILE``: add a supplier's codes to a pool."""

from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import services
from catalog.errors import VariantNotFound
from catalog.models import Variant
from mithrapay.errors import ApplicationError


def _cost(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise CommandError(
            f"--cost must be a number like 12.50, not {value!r}"
        ) from None


class Command(BaseCommand):
    help = (
        "Import gift-card codes into a variant's pool from a CSV or plain-text "
        "file (one code a line; optional pin, serial, expires_at columns)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the code file (UTF-8)")
        parser.add_argument("--sku", required=True, help="the variant's SKU")
        parser.add_argument("--supplier", default="", help="who sold the codes")
        parser.add_argument("--cost", type=_cost, default=None, help="unit cost")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read ({exc.strerror})") from None
        variant = Variant.objects.filter(sku=options["sku"]).first()
        if variant is None:
            raise CommandError(f"{VariantNotFound.default_message} ({options['sku']})")

        bars: dict[str, tqdm] = {}
        quiet = options["verbosity"] == 0

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in bars:
                bars[phase] = tqdm(
                    total=total, desc=phase, unit="code", disable=quiet, leave=False
                )
            bars[phase].update(done)

        try:
            summary = services.code_import(
                variant=variant,
                data=data,
                source_name=path.name,
                supplier=options["supplier"],
                unit_cost=options["cost"],
                progress=progress,
            )
        except ApplicationError as exc:
            raise CommandError(_describe(exc)) from None
        finally:
            for bar in bars.values():
                bar.close()
        self.stdout.write(summary.describe())


def _describe(exc: ApplicationError) -> str:
    lines = [f"{exc.code}: {exc.message}"]
    for row, messages in exc.fields.get("rows", {}).items():
        lines += [f"  row {row}: {message}" for message in messages]
    for field, messages in exc.fields.items():
        if field != "rows":
            lines += [f"  {field}: {message}" for message in messages]
    lines.append("Nothing was imported.")
    return "\n".join(lines)
