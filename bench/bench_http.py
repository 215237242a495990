"""HTTP benchmark of the public API against production serving.

    DATABASE_URL=mysql://… REDIS_URL=redis://… make bench
    .venv/bin/python bench/bench_http.py --duration 10 --connections 32

One run: creates (or empties) the database ``mithrapay_bench`` on the
MariaDB server DATABASE_URL names, migrates it, seeds a catalog (1,000
products, 3,000 variants, 100,000 codes), a blog and 5,000 customers, runs
``ANALYZE TABLE``, starts gunicorn with production settings (secrets made
up for the run, ``CACHE_KEY_PREFIX=mithrapay-bench`` on REDIS_URL), and
loads each endpoint with wrk. The uncached figures come from a second
gunicorn started with ``RESPONSE_CACHE_ENABLED=false``.

It prints req/s, p50 and p99 per endpoint and the ratio to ``GET /`` of the
same run, then the targets. It fails (exit 1) on any answer outside 2xx or
socket error, on a code reserved twice, and on a missed target.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
WRK_DIR = Path(__file__).resolve().parent / "wrk"
BENCH_DATABASE = "mithrapay_bench"
CUSTOMERS = 5_000
CODE_VARIANTS_PER_PRODUCT = 3
GIFT_CARDS, SUBSCRIPTIONS, PHYSICAL = 700, 200, 100
CODES = 100_000
POSTS, SCHEDULED_POSTS = 300, 5

# (name, minimum ratio to GET /) of every target, by endpoint label.
TARGETS = {
    "GET /products/ cached": 0.50,
    "GET /products/ uncached": 0.15,
    "GET /products/<id> cached": 0.50,
    "GET /products/<id> uncached": 0.25,
    "GET /blog/ cached": 0.50,
    "POST /orders/": 0.06,
}
ORDER_P99_LIMIT_MS = 150


def _fail(message: str) -> None:
    raise SystemExit(f"bench: {message}")


# --- Environment --------------------------------------------------------------


def bench_environment(*, workers: int) -> dict[str, str]:
    """The process environment of this script and of gunicorn: production
    settings on a database and cache prefix of the benchmark's own."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("mysql://"):
        _fail("set DATABASE_URL=mysql://… (MariaDB); SQLite figures mean nothing")
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        _fail("set REDIS_URL=redis://…; production caches and throttles in Redis")
    parts = urlsplit(database_url)
    bench_url = urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))
    from cryptography.fernet import Fernet

    return {
        "APP_ENV": "production",
        "ENV_FILE": "/dev/null",
        "DJANGO_SETTINGS_MODULE": "mithrapay.settings",
        "DATABASE_URL": bench_url,
        "REDIS_URL": redis_url,
        "CACHE_KEY_PREFIX": "mithrapay-bench",
        "CELERY_BROKER_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SECRET": secrets.token_urlsafe(50),
        "CODE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "CODE_DIGEST_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "BEHIND_TLS_PROXY": "false",
        "DEBUG": "false",
        # Customers each hold a few unpaid orders by the end; the limits
        # stay on but above what one run reaches.
        "MAX_PENDING_ORDERS": "50",
        "THROTTLE_ORDER_CREATE": "1000/hour",
        "GUNICORN_WORKERS": str(workers),
        # Production recycles a worker every GUNICORN_MAX_REQUESTS requests.
        # One run sends each worker about 100,000; a worker re-importing
        # Django in the middle of a load would be measured instead of the API.
        "GUNICORN_MAX_REQUESTS": os.environ.get("GUNICORN_MAX_REQUESTS", "1000000"),
    }


def create_database(database_url: str) -> None:
    import MySQLdb

    parts = urlsplit(database_url)
    connection = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=parts.username or "",
        password=parts.password or "",
    )
    try:
        connection.cursor().execute(
            f"CREATE DATABASE IF NOT EXISTS `{BENCH_DATABASE}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    finally:
        connection.close()


# --- Seeding ------------------------------------------------------------------


def empty_tables() -> None:
    from django.apps import apps
    from django.db import connection

    labels = {"accounts", "catalog", "orders", "payments", "blog", "token_blacklist"}
    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in labels
    } & set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in sorted(tables):
            cursor.execute(f"TRUNCATE TABLE `{table}`")
        cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


def seed_catalog() -> list[int]:
    """Categories, 1,000 products, 3,000 variants and 100,000 codes; returns
    the ids of the code variants."""
    from catalog import code_files, services, vault
    from catalog.models import Category, DigitalCode, Product, Variant

    roots = Category.objects.bulk_create(
        Category(name=f"Department {n}", slug=f"department-{n}", position=n)
        for n in range(10)
    )
    leaves = Category.objects.bulk_create(
        Category(name=f"Shelf {n}", slug=f"shelf-{n}", parent=roots[n % 10])
        for n in range(40)
    )
    brands = ["Apple", "Google Play", "Steam", "PlayStation", "Xbox", "Netflix"]
    kinds = (
        [Product.Kind.GIFT_CARD] * GIFT_CARDS
        + [Product.Kind.SUBSCRIPTION] * SUBSCRIPTIONS
        + [Product.Kind.PHYSICAL] * PHYSICAL
    )
    products = Product.objects.bulk_create(
        Product(
            kind=kind,
            brand=brands[n % len(brands)],
            category=leaves[n % len(leaves)],
            name=f"{brands[n % len(brands)]} {kind.label} {n:04d}",
            slug=f"product-{n:04d}",
            description="A product of the benchmark catalog. " * 5,
        )
        for n, kind in enumerate(kinds)
    )
    variants = []
    for product in products:
        for position, region in enumerate(("US", "DE", "TR")):
            variants.append(_variant(product, position, region))
    variants = Variant.objects.bulk_create(variants, batch_size=1000)
    # bulk_create sends no signals: every product is listed here at once.
    services.products_relist(products=Product.objects.all())
    code_variants = [v for v in variants if v.fulfilment == Variant.Fulfilment.CODE]

    fernet = vault.fernet()
    codes = []
    for n in range(CODES):
        plain = f"{secrets.token_hex(8).upper()}{n:06d}"
        codes.append(
            DigitalCode(
                variant=code_variants[n % len(code_variants)],
                code_encrypted=fernet.encrypt(plain.encode()).decode(),
                digest=vault.digest(plain),
                last4=code_files.shown_suffix(plain),
            )
        )
    DigitalCode.objects.bulk_create(codes, batch_size=5000)
    return [v.pk for v in code_variants]


def _variant(product, position: int, region: str):
    from catalog.models import Product, Variant

    price = Decimal(100_000 * (position + 1) + product.pk % 97 * 1000)
    common = {
        "product": product,
        "sku": f"BENCH-{product.pk:05d}-{region}",
        "position": position,
        "price": price,
    }
    if product.kind == Product.Kind.GIFT_CARD:
        return Variant(
            **common,
            name=f"{(position + 1) * 25} USD {region}",
            fulfilment=Variant.Fulfilment.CODE,
            face_value=Decimal((position + 1) * 25),
            face_currency="USD",
            region=region,
        )
    if product.kind == Product.Kind.SUBSCRIPTION:
        days = (30, 90, 365)[position]
        return Variant(
            **common,
            name=f"{days} days",
            fulfilment=Variant.Fulfilment.MANUAL,
            duration_days=days,
            customer_fields=["account_email"],
        )
    return Variant(
        **common,
        name=f"Colour {position + 1}",
        fulfilment=Variant.Fulfilment.SHIPMENT,
        stock=1000,
    )


def seed_blog() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import User
    from blog.models import Post, Tag

    author = User.objects.create_user(
        email="editor@bench.invalid",
        password=secrets.token_urlsafe(16),
        first_name="Bench",
        last_name="Editor",
        is_staff=True,
    )
    tags = Tag.objects.bulk_create(
        Tag(name=f"Topic {n}", slug=f"topic-{n}") for n in range(20)
    )
    now = timezone.now()
    body = (
        "Redeem the **card** in the store app, then check the balance. " * 40 + "\n\n"
    ) * 4
    for n in range(POSTS + SCHEDULED_POSTS):
        scheduled = n >= POSTS
        post = Post(
            title=f"Gift card guide {n}",
            slug=f"guide-{n}",
            excerpt="Step by step, with pictures.",
            body=body,
            status=Post.Status.PUBLISHED,
            published_at=now
            + (timedelta(days=n) if scheduled else -timedelta(hours=n)),
            author=author,
        )
        post.save()
        post.tags.set([tags[n % 20], tags[(n * 7) % 20]])


def seed_customers() -> list[str]:
    from django.contrib.auth.hashers import make_password
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User

    unusable = make_password(None)
    User.objects.bulk_create(
        (
            User(email=f"customer{n}@bench.invalid", password=unusable)
            for n in range(CUSTOMERS)
        ),
        batch_size=1000,
    )
    users = User.objects.filter(email__startswith="customer").order_by("pk")
    return [str(AccessToken.for_user(user)) for user in users]


def reuse() -> tuple[list[int], list[str]]:
    """The code variants and fresh tokens of the customers seeded before."""
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from catalog.models import Variant

    variants = list(
        Variant.objects.filter(fulfilment=Variant.Fulfilment.CODE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    users = User.objects.filter(email__startswith="customer").order_by("pk")
    if not variants or not users:
        _fail("nothing to reuse: run once without --reuse")
    return variants, [str(AccessToken.for_user(user)) for user in users]


def analyze() -> None:
    from django.apps import apps
    from django.db import connection

    tables = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in {"accounts", "catalog", "orders", "blog"}
    }
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(f"ANALYZE TABLE `{table}`")
            cursor.fetchall()


# --- Serving and loading ------------------------------------------------------


def start_server(
    env: dict[str, str],
    *,
    port: int,
    workers: int,
    log: Path,
    source: Path = BASE_DIR,
):
    """gunicorn serving the project in ``source`` (this checkout, or another
    version's beside it), with this checkout's virtual environment."""
    import requests

    # A server left on the port would answer the readiness probe and be
    # measured in place of this one.
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            _fail(f"port {port} is already in use; stop that server or pass --port")
    command = [str(BASE_DIR / ".venv" / "bin" / "gunicorn")]
    config = source / "deploy" / "gunicorn.conf.py"
    if config.is_file():
        command += ["--config", str(config)]
    command += [
        "mithrapay.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
    ]
    with log.open("ab") as out:
        server = subprocess.Popen(
            command,
            cwd=source,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    for _ in range(150):
        if server.poll() is not None:
            break
        try:
            if requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=5).ok:
                return server
        except requests.RequestException:
            # Not listening yet, or a worker still importing Django.
            pass
        time.sleep(0.2)
    stop_server(server)
    _fail(f"gunicorn did not become ready (is port {port} taken?); see {log}")
    return None


def stop_server(server) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    server.wait(timeout=30)


@dataclass
class Result:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    # GET / req/s measured right before this load, on the same server.
    base_rate: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def ratio(self) -> float:
        return self.rate / self.base_rate


def wrk(label, url, script, args, *, threads, connections, duration) -> Result:
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "-s",
        str(WRK_DIR / script),
        url,
        "--",
        *args,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = json.loads(
        next(line for line in output.stdout.splitlines() if line.startswith("{"))
    )
    return Result(
        label=label,
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        non_2xx=summary["non_2xx"],
        socket_errors=summary["socket_errors"],
    )


def profiled(run, *, server, label: str, folder: Path | None) -> Result:
    """``run()``, sampled by py-spy across gunicorn's workers when ``folder``
    is given: a flame graph and the collapsed stacks, named for ``label``."""
    if folder is None:
        return run()
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() else "-" for c in label).strip("-")
    recorders = [
        subprocess.Popen(
            [
                str(BASE_DIR / ".venv" / "bin" / "py-spy"),
                "record",
                "--pid",
                str(server.pid),
                "--subprocesses",
                "--nonblocking",
                "--rate",
                "250",
                "--format",
                kind,
                "--output",
                str(folder / f"{name}.{suffix}"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for kind, suffix in (("flamegraph", "svg"), ("raw", "txt"))
    ]
    try:
        return run()
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=60)
        print_profile(folder / f"{name}.txt", label)


def print_profile(path: Path, label: str, top: int = 14) -> None:
    """The functions that most samples were inside of (inclusive share)."""
    if not path.is_file():
        return
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in {
            f.split(" (")[0] + " " + f.split(" (")[-1].split(":")[0]
            for f in stack.split(";")
        }:
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
    print(f"\nprofile of {label} ({total} samples), inclusive share:")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {100 * count / total:5.1f}%  {frame}")


def paths_file(folder: Path, name: str, paths: list[str]) -> str:
    path = folder / name
    path.write_text("\n".join(paths) + "\n")
    return str(path)


# --- Checks and report ------------------------------------------------------------


def reservation_check() -> tuple[int, int, int]:
    """(codes held by order items, distinct codes held, codes reserved)."""
    from catalog.models import DigitalCode
    from orders.models import ItemCode

    held = list(ItemCode.objects.values_list("code_id", flat=True))
    reserved = DigitalCode.objects.filter(status=DigitalCode.Status.RESERVED).count()
    return len(held), len(set(held)), reserved


def report(results: list[Result], bases: list[Result]) -> list[str]:
    """Print the table; return what failed."""
    failures = []
    base = sorted(bases, key=lambda r: r.rate)[len(bases) // 2]
    print(
        f"\n{'endpoint':28} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'GET / req/s':>11} {'ratio':>6}  target"
    )
    print(
        f"{'GET / (median of runs)':28} {base.rate:7.0f} {base.p50_ms:7.1f} "
        f"{base.p99_ms:7.1f} {'':>11} {1:6.2f}"
    )
    for result in [*results, *bases]:
        if result.non_2xx or result.socket_errors:
            failures.append(
                f"{result.label}: {result.non_2xx} answers outside 2xx, "
                f"{result.socket_errors} socket errors"
            )
    for result in results:
        target = TARGETS.get(result.label)
        mark = "" if target is None else f"≥ {target:.2f}"
        if target is not None and result.ratio < target:
            mark += " MISSED"
            failures.append(f"{result.label}: ratio {result.ratio:.2f} < {target:.2f}")
        if result.label == "POST /orders/":
            mark += f", p99 ≤ {ORDER_P99_LIMIT_MS} ms"
            if result.p99_ms > ORDER_P99_LIMIT_MS:
                mark += " MISSED"
                failures.append(
                    f"POST /orders/: p99 {result.p99_ms:.0f} ms > "
                    f"{ORDER_P99_LIMIT_MS} ms"
                )
        print(
            f"{result.label:28} {result.rate:7.0f} {result.p50_ms:7.1f} "
            f"{result.p99_ms:7.1f} {result.base_rate:11.0f} {result.ratio:6.2f}  "
            f"{mark}"
        )
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("GUNICORN_WORKERS") or 0)
        or (os.cpu_count() or 1) + 1,
        help="gunicorn workers (default: cores + 1)",
    )
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data of the previous run instead of seeding again",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record each measured load with py-spy (flame graphs in DIR)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        _fail("wrk is missing: apt-get install -y wrk")

    env = bench_environment(workers=args.workers)
    create_database(env["DATABASE_URL"])
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    if args.reuse:
        code_variants, tokens = reuse()
    else:
        call_command("migrate", verbosity=0)
        empty_tables()
        code_variants = seed_catalog()
        seed_blog()
        tokens = seed_customers()
        analyze()
        print(
            f"seeded in {time.perf_counter() - started:.0f} s: 1,000 products, "
            f"3,000 variants, {CODES:,} codes, {POSTS} posts, "
            f"{CUSTOMERS:,} customers"
        )
    cache.delete_pattern("*")
    connection.close()

    from catalog.models import Product

    product_ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    load = {
        "threads": args.threads,
        "connections": args.connections,
        "duration": args.duration,
    }
    warm = {**load, "duration": 2}
    url = f"http://127.0.0.1:{args.port}"
    log = Path(tempfile.gettempdir()) / "mithrapay-bench-gunicorn.log"
    log.write_bytes(b"")
    results: list[Result] = []
    bases: list[Result] = []
    profile_dir = Path(args.profile).resolve() if args.profile else None

    def measure(label, script, script_args, server) -> None:
        """GET /, the endpoint, GET / again: each ratio compares the endpoint
        with the mean of its two neighbours in time (the machine's other
        work drifts, and a load leaves work behind, such as MariaDB flushing
        what orders wrote, that slows whatever runs next)."""
        before = wrk("GET /", url, "get.lua", [root], **load)
        result = profiled(
            lambda: wrk(label, url, script, script_args, **load),
            server=server,
            label=label,
            folder=profile_dir,
        )
        after = wrk("GET /", url, "get.lua", [root], **load)
        result.base_rate = (before.rate + after.rate) / 2
        bases.extend((before, after))
        results.append(result)

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        root = paths_file(folder, "root", ["/"])
        products = paths_file(folder, "products", ["/products/"])
        some_ids = paths_file(
            folder, "some", [f"/products/{pk}" for pk in product_ids[:100]]
        )
        all_ids = paths_file(folder, "all", [f"/products/{pk}" for pk in product_ids])
        blog = paths_file(folder, "blog", ["/blog/"])
        tokens_file = paths_file(folder, "tokens", tokens)
        variants_file = paths_file(folder, "variants", [str(v) for v in code_variants])

        cached_runs = [
            ("GET /products/ cached", products),
            ("GET /products/<id> cached", some_ids),
            ("GET /blog/ cached", blog),
        ]
        server = start_server(env, port=args.port, workers=args.workers, log=log)
        try:
            wrk("warm", url, "get.lua", [root], **warm)
            for label, paths in cached_runs:
                wrk(label, url, "get.lua", [paths], **warm)
                measure(label, "get.lua", [paths], server)
            nonce = uuid.uuid4().hex[:8]
            order_args = [tokens_file, variants_file, nonce, str(args.threads)]
            wrk(
                "warm",
                url,
                "orders.lua",
                [*order_args[:2], "w" + nonce, str(args.threads)],
                **warm,
            )
            measure("POST /orders/", "orders.lua", order_args, server)
        finally:
            stop_server(server)

        uncached_runs = [
            ("GET /products/ uncached", products),
            ("GET /products/<id> uncached", all_ids),
            ("GET /blog/ uncached", blog),
        ]
        server = start_server(
            {**env, "RESPONSE_CACHE_ENABLED": "false"},
            port=args.port,
            workers=args.workers,
            log=log,
        )
        try:
            wrk("warm", url, "get.lua", [root], **warm)
            for label, paths in uncached_runs:
                wrk(label, url, "get.lua", [paths], **warm)
                measure(label, "get.lua", [paths], server)
        finally:
            stop_server(server)

    held, distinct, reserved = reservation_check()
    print(
        f"\ngunicorn: {args.workers} sync workers; wrk -t{args.threads} "
        f"-c{args.connections} -d{args.duration}s; {os.cpu_count()} cores"
    )
    failures = report(results, bases)
    print(
        f"codes held by orders {held:,}, distinct {distinct:,}, reserved {reserved:,}"
    )
    if distinct != held or reserved != held:
        failures.append("a code is reserved twice or reserved without its order")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures))
        raise SystemExit(1)
    print("\nall answers 2xx, every target met, no code reserved twice")


if __name__ == "__main__":
    main()
