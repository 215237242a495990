"""Sign-in benchmark: one-time codes, token rotation and password login.

    DATABASE_URL=mysql://… REDIS_URL=redis://… .venv/bin/python -m accounts.bench

Runs in-process against the database and cache the settings name (migrating
the database first): issues and verifies ``--codes`` one-time codes from
``--threads`` threads, rotates ``--rotations`` refresh tokens, and signs in
``--logins`` times with a password under the production hasher (Argon2).
Prints operations per second with p50 and p99 latency. The accounts it
creates use the ``accounts-bench.invalid`` domain and are removed before each run.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts import otp, services, tokens  # noqa: E402
from accounts.models import User  # noqa: E402
from mithrapay.health import cache_backend  # noqa: E402

DOMAIN = "accounts-bench.invalid"
PASSWORD = "bench-passphrase-long"  # noqa: S105


def report(name: str, latencies: list[float], elapsed: float) -> None:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    sys.stdout.write(
        f"{name:<28} {len(ordered) / elapsed:8.0f}/s   "
        f"p50 {statistics.median(ordered) * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms\n"
    )


def bench_codes(count: int, threads: int) -> None:
    latencies: list[float] = []
    lock = threading.Lock()
    accepted = []

    def work(offset: int) -> None:
        for n in range(offset, count, threads):
            phone = f"+98912{n:07d}"
            code = otp.issue(phone=phone, purpose=otp.LOGIN)
            started = time.perf_counter()
            outcome = otp.verify(phone=phone, purpose=otp.LOGIN, code=code)
            with lock:
                latencies.append(time.perf_counter() - started)
                accepted.append(outcome is otp.Outcome.VALID)

    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    report(
        f"code issue+verify ({threads} thr)", latencies, time.perf_counter() - started
    )
    assert all(accepted), "a right code was refused"


def bench_rotations(count: int, user: User) -> None:
    raw = tokens.issue_pair(user)["refresh"]
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        tick = time.perf_counter()
        raw = tokens.rotate(refresh=raw)["refresh"]
        latencies.append(time.perf_counter() - tick)
    report("refresh rotation", latencies, time.perf_counter() - started)


def bench_logins(count: int, user: User) -> None:
    latencies = []
    started = time.perf_counter()
    for _ in range(count):
        tick = time.perf_counter()
        services.login_with_password(email=user.email, password=PASSWORD, ip="bench")
        latencies.append(time.perf_counter() - tick)
    report("password login (argon2)", latencies, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--rotations", type=int, default=300)
    parser.add_argument("--logins", type=int, default=30)
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    User.objects.filter(email__endswith=f"@{DOMAIN}").delete()
    user = User.objects.create_user(f"bench@{DOMAIN}", PASSWORD)
    sys.stdout.write(f"database {connection.vendor}, cache {cache_backend()}\n")

    try:
        bench_codes(options.codes, options.threads)
        bench_rotations(options.rotations, user)
        bench_logins(options.logins, user)
    finally:
        User.objects.filter(email__endswith=f"@{DOMAIN}").delete()


if __name__ == "__main__":
    main()
