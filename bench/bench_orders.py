"""Order-creation benchmark against a running gunicorn on MariaDB and Redis.

    make bench-orders                       # 32 clients, 640 orders
    .venv/bin/python bench/bench_orders.py --clients 16 --orders 320

It migrates the database named by DATABASE_URL (MariaDB only), seeds one
gift-card variant with a code per order and one customer per order, starts
gunicorn on 127.0.0.1, sends every POST /orders/ (JWT, an Idempotency-Key,
one code reserved per order) from ``--clients`` threads, then prints
orders/second with p50 and p99 latency, and checks that no code was
reserved twice. The rows it seeds are removed before each run.
"""

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from accounts.models import User  # noqa: E402
from catalog import code_files, vault  # noqa: E402
from catalog.models import Category, DigitalCode, Product, Variant  # noqa: E402
from orders.models import IdempotencyKey, ItemCode, Order  # noqa: E402

SKU = "BENCH-ORDERS"
EMAIL_DOMAIN = "bench.invalid"


def seed(orders: int) -> tuple[Variant, list[str]]:
    Order.objects.filter(user__email__endswith=f"@{EMAIL_DOMAIN}").delete()
    IdempotencyKey.objects.filter(user__email__endswith=f"@{EMAIL_DOMAIN}").delete()
    DigitalCode.objects.filter(variant__sku=SKU).delete()
    User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").delete()
    category, _ = Category.objects.get_or_create(
        slug="bench", defaults={"name": "Bench"}
    )
    product, _ = Product.objects.get_or_create(
        slug="bench-gift-card",
        defaults={"name": "Bench card", "brand": "Bench", "category": category},
    )
    variant, _ = Variant.objects.update_or_create(
        sku=SKU,
        defaults={"product": product, "name": "Bench $10", "price": "100000.00"},
    )
    plain = [secrets.token_hex(10).upper() for _ in range(orders)]
    DigitalCode.objects.bulk_create(
        [
            DigitalCode(
                variant=variant,
                code_encrypted=vault.encrypt(code),
                digest=vault.digest(code),
                last4=code_files.shown_suffix(code),
            )
            for code in plain
        ],
        batch_size=1000,
    )
    users = User.objects.bulk_create(
        [
            User(email=f"buyer{n}@{EMAIL_DOMAIN}", password=make_password(None))
            for n in range(orders)
        ],
        batch_size=1000,
    )
    users = list(User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}"))
    tokens = [str(AccessToken.for_user(user)) for user in users]
    with connection.cursor() as cursor:
        for table in ("catalog_digitalcode", "orders_order", "accounts_user"):
            cursor.execute(f"ANALYZE TABLE {table}")
    return variant, tokens


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "LOG_LEVEL": "WARNING", "DEBUG": "false"}
    server = subprocess.Popen(
        [
            str(BASE_DIR / ".venv" / "bin" / "gunicorn"),
            "mithrapay.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=2).ok:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    os.killpg(server.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not become ready")


def run(url: str, variant_id: int, tokens: list[str], clients: int):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    queue = list(tokens)

    def client():
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                token = queue.pop()
            started = time.perf_counter()
            response = session.post(
                f"{url}/orders/",
                json={"items": [{"variant": variant_id, "quantity": 1}]},
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": uuid.uuid4().hex,
                    "Host": "localhost",
                },
                timeout=30,
            )
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[response.status_code] = (
                    statuses.get(response.status_code, 0) + 1
                )

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--orders", type=int, default=640)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if connection.vendor != "mysql":
        raise SystemExit(
            "set DATABASE_URL to MariaDB: the figure is meaningless on SQLite"
        )
    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        raise SystemExit(
            "set REDIS_URL: throttles and settings run on Redis in production"
        )

    call_command("migrate", verbosity=0)
    variant, tokens = seed(args.orders)
    server = start_server(args.port, args.workers)
    try:
        wall, latencies, statuses = run(
            f"http://127.0.0.1:{args.port}", variant.pk, tokens, args.clients
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    held = list(
        ItemCode.objects.filter(code__variant=variant).values_list("code_id", flat=True)
    )
    created = statuses.get(201, 0)
    print(f"clients {args.clients}, workers {args.workers}, orders {len(latencies)}")
    print(f"statuses {dict(sorted(statuses.items()))}")
    print(f"orders/second {created / wall:.1f}")
    print(f"latency p50 {statistics.median(latencies) * 1000:.0f} ms")
    print(f"latency p99 {percentile(latencies, 0.99) * 1000:.0f} ms")
    print(f"codes held {len(held)}, distinct {len(set(held))}")
    if created != args.orders or len(held) != len(set(held)) or len(held) != created:
        raise SystemExit("FAILED: every order must succeed and hold a code of its own")


if __name__ == "__main__":
    main()
