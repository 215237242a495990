"""Benchmark: the back office's dashboard with 100,000 orders.

    make bench-dashboard
    DATABASE_URL=mysql://… .venv/bin/python bench/bench_dashboard.py \\
        [--orders 100000] [--runs 200] [--keepdb]

Seeds a throw-away database beside the one ``DATABASE_URL`` names
(``test_<name>_dashboard`` on MariaDB, dropped afterwards unless
``--keepdb``) with customers, a catalog with code pools and stock, and
``--orders`` orders spread over the last year in every status (bulk
inserts), runs ``ANALYZE TABLE``, then renders ``GET /admin/`` as a
superuser through Django's test client, every dashboard part shown, and
prints p50, p95 and the slowest render, and the time of each dashboard
query. The target is p95 under 300 ms on MariaDB.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

CUSTOMERS = 2000
BATCH = 5000
# Status mix of a living shop: most orders done, some unpaid, expired or
# cancelled, a few refunded or waiting for staff.
STATUS_WEIGHTS = {
    "fulfilled": 70,
    "paid": 2,
    "partially_fulfilled": 1,
    "pending_payment": 2,
    "expired": 15,
    "cancelled": 8,
    "refunded": 2,
}
PAID = {"fulfilled", "paid", "partially_fulfilled", "refunded"}


def seed(orders: int) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db.models import F
    from django.utils import timezone

    from accounts.models import User
    from catalog import vault
    from catalog.models import Category, DigitalCode, Product, Variant
    from orders.models import Order, OrderItem

    rng = random.Random(7)  # noqa: S311 - repeatable bench data, not secrets
    password = make_password("bench-password")
    User.objects.bulk_create(
        [
            User(email=f"bench{n}@bench.invalid", password=password)
            for n in range(CUSTOMERS)
        ],
        batch_size=BATCH,
    )
    user_ids = list(User.objects.values_list("id", flat=True))
    User.objects.create_superuser(
        email="admin@bench.invalid",
        password="bench-pass",  # noqa: S106 - a throw-away database
    )

    category = Category.objects.create(name="Bench", slug="bench")
    variants = []
    for n, (kind, fulfilment) in enumerate(
        [("gift_card", "code")] * 12
        + [("subscription", "manual")] * 4
        + [("physical", "shipment")] * 4
    ):
        product = Product.objects.create(
            kind=kind, brand="Bench", category=category, name=f"P{n}", slug=f"p{n}"
        )
        variants.append(
            Variant.objects.create(
                product=product,
                sku=f"BENCH-{n:02d}",
                name=f"V{n}",
                price=Decimal(1_000_000 + 250_000 * n),
                fulfilment=fulfilment,
                stock=rng.randint(0, 40) if fulfilment == "shipment" else 0,
                low_stock_threshold=10,
                face_value=Decimal(10) if kind == "gift_card" else None,
                face_currency="USD" if kind == "gift_card" else "",
                region="US" if kind == "gift_card" else "",
                duration_days=30 if kind == "subscription" else None,
            )
        )
    token = vault.encrypt("BENCH-CODE")
    codes = []
    for variant in variants[:12]:
        for n in range(rng.choice([3, 500, 2000])):
            codes.append(
                DigitalCode(
                    variant=variant,
                    code_encrypted=token,
                    digest=f"{variant.pk:04d}{n:060d}",
                    last4=f"{n % 10000:04d}",
                    status=rng.choice(["available", "available", "sold"]),
                )
            )
    DigitalCode.objects.bulk_create(codes, batch_size=BATCH)

    now = timezone.now()
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    made = 0
    while made < orders:
        size = min(BATCH, orders - made)
        batch = []
        for n in range(size):
            status = rng.choices(statuses, weights)[0]
            created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
            variant = rng.choice(variants)
            batch.append(
                Order(
                    number=f"MP-B{made + n:07d}",
                    user_id=rng.choice(user_ids),
                    status=status,
                    subtotal=variant.price,
                    total=variant.price,
                    currency="IRR",
                    expires_at=created + timedelta(minutes=15),
                    paid_at=created + timedelta(minutes=2) if status in PAID else None,
                )
            )
        Order.objects.bulk_create(batch, batch_size=BATCH)
        made += size
    # auto_now_add stamped every row now; spread created_at like expires_at.
    Order.objects.update(created_at=F("expires_at") - timedelta(minutes=15))
    items = []
    by_price = {variant.price: variant for variant in variants}
    for order_id, status, total in Order.objects.values_list("id", "status", "total"):
        variant = by_price[total]
        waiting = (
            status in ("paid", "partially_fulfilled") and variant.fulfilment != "code"
        )
        items.append(
            OrderItem(
                order_id=order_id,
                variant=variant,
                product_name=variant.product.name,
                variant_name=variant.name,
                sku=variant.sku,
                kind=variant.product.kind,
                fulfilment=variant.fulfilment,
                unit_price=total,
                quantity=1,
                line_total=total,
                status="awaiting" if waiting else "done",
            )
        )
        if len(items) >= BATCH:
            OrderItem.objects.bulk_create(items)
            items = []
    OrderItem.objects.bulk_create(items)


def analyze() -> None:
    from django.db import connection

    if connection.vendor != "mysql":
        return
    with connection.cursor() as cursor:
        for table in (
            "orders_order",
            "orders_orderitem",
            "catalog_digitalcode",
            "catalog_variant",
        ):
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def measure(runs: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from catalog import selectors as catalog_selectors
    from orders import selectors

    client = Client()
    client.force_login(User.objects.get(email="admin@bench.invalid"))
    for _ in range(5):
        assert client.get("/admin/").status_code == 200
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/admin/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/admin/")
    print(
        f"GET /admin/ ({runs} runs, {len(queries)} queries): "
        f"p50 {statistics.median(timings):.1f} ms, "
        f"p95 {percentile(timings, 0.95):.1f} ms, max {max(timings):.1f} ms"
    )
    parts = {
        "sales today and this month": selectors.sales_summary,
        "orders by status": selectors.orders_by_status,
        "fulfilment queue": selectors.fulfilment_queue_summary,
        "30-day chart": lambda: selectors.daily_sales(days=30),
        "low stock": lambda: list(catalog_selectors.variants_low_stock()[:20]),
    }
    for name, read in parts.items():
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            read()
            samples.append((time.perf_counter() - started) * 1000)
        print(f"  {name}: median {statistics.median(samples):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--keepdb", action="store_true")
    args = parser.parse_args()

    os.environ.setdefault("APP_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    database = connections["default"]
    if database.vendor != "sqlite":
        name = database.settings_dict["NAME"]
        database.settings_dict["TEST"]["NAME"] = f"test_{name}_dashboard"
    state = setup_databases(
        verbosity=0,
        interactive=False,
        keepdb=args.keepdb,
        aliases={"default"},
        serialized_aliases=set(),
    )
    try:
        from orders.models import Order

        if not Order.objects.exists():
            started = time.perf_counter()
            seed(args.orders)
            print(
                f"seeded {Order.objects.count()} orders on {database.vendor} "
                f"in {time.perf_counter() - started:.1f} s"
            )
        analyze()
        measure(args.runs)
    finally:
        if not args.keepdb:
            teardown_databases(state, verbosity=0)


if __name__ == "__main__":
    main()
