"""Benchmark: import 100,000 gift-card codes with ``manage.py import_codes``.

Runs the real command (file parsing, encryption, fingerprints, batched
inserts, progress bar) against a throw-away database created next to the
configured one (``test_<name>_bench`` on MariaDB), then drops it. Point
``DATABASE_URL`` at MariaDB to measure what production does::

    DATABASE_URL=mysql://user:pass@127.0.0.1:3306/mithrapay make bench-import

Options: ``--count N`` codes (default 100000), ``--keepdb`` to keep the
database between runs.
"""

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _code() -> str:
    return "-".join(
        "".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(4)
    )


def _write_file(folder: Path, count: int) -> Path:
    path = folder / "codes.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("code,pin\n")
        for n in range(count):
            out.write(f"{_code()},{n % 10000:04d}\n")
    return path


def _timed_import(path: Path, sku: str) -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("import_codes", str(path), sku=sku, stdout=sys.stdout)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--keepdb", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("APP_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")
    import django

    django.setup()
    from django.db import connection, connections
    from django.test.utils import setup_databases, teardown_databases

    from catalog.models import Category, DigitalCode, Product, Variant

    database = connections["default"]
    base_name = database.settings_dict["NAME"]
    if database.vendor != "sqlite":
        database.settings_dict["TEST"]["NAME"] = f"test_{base_name}_bench"
    state = setup_databases(
        verbosity=0,
        interactive=False,
        keepdb=args.keepdb,
        aliases={"default"},
        serialized_aliases=set(),
    )
    try:
        category, _ = Category.objects.get_or_create(
            slug="bench", defaults={"name": "Bench"}
        )
        product, _ = Product.objects.get_or_create(
            slug="bench-card",
            defaults={
                "name": "Bench card",
                "kind": "gift_card",
                "brand": "Bench",
                "category": category,
            },
        )
        sku = f"BENCH-{secrets.token_hex(4).upper()}"
        Variant.objects.create(
            product=product,
            sku=sku,
            name="Bench",
            price=1,
            face_value=25,
            face_currency="USD",
            region="US",
        )
        with tempfile.TemporaryDirectory() as folder:
            path = _write_file(Path(folder), args.count)
            fresh = _timed_import(path, sku)
            again = _timed_import(path, sku)
        stored = DigitalCode.objects.filter(variant__sku=sku).count()
        version = ""
        if connection.vendor == "mysql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT VERSION()")
                version = cursor.fetchone()[0]
        sys.stdout.write(
            f"\ndatabase: {connection.vendor} {version}\n"
            f"codes in file: {args.count:,}; stored: {stored:,}\n"
            f"fresh import: {fresh:.1f} s ({args.count / fresh:,.0f} codes/s)\n"
            f"same file again (all duplicates): {again:.1f} s\n"
        )
    finally:
        if not args.keepdb:
            teardown_databases(state, verbosity=0)


if __name__ == "__main__":
    main()
