"""What one request costs in one process, with nothing else running.

    .venv/bin/python bench/request_cost.py --endpoint orders --requests 500
    make bench-order-cost      # the same under valgrind: instructions per order
    make bench-list-cost       # uncached GET /products/, the same way

Runs on the database ``make bench`` seeded (``mithrapay_bench``, production
settings, the same environment as bench_http.py) and calls Django's WSGI
handler directly, as the HTTP benchmark's loads do: ``orders`` places an
order with a customer's token and a fresh Idempotency-Key per request;
``products`` reads the first page of the product list with the response
cache off. It prints the wall time and the Python process's CPU time per
request, and the MariaDB server's CPU time per request when the server runs
on this machine.

Wall and CPU times on a shared machine drift by a third between minutes;
the instruction count ``make bench-order-cost`` prints (callgrind, the
Python process only) is the same from run to run, so it is the figure to
compare two versions of the code by.
"""

import argparse
import cProfile
import io
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_http

WARM_UP = 20
SERVER = {
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8000",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "127.0.0.1",
    "REMOTE_ADDR": "127.0.0.1",
    "wsgi.url_scheme": "http",
    "wsgi.version": (1, 0),
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}


def _server_cpu_seconds() -> float | None:
    found = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True)
    if not found.stdout.split():
        return None
    pid = found.stdout.split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", choices=("orders", "products"), default="orders")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="record the measured requests with cProfile (CPU clock) into FILE",
    )
    args = parser.parse_args()

    os.environ.update(bench_http.bench_environment(workers=1))
    if args.endpoint == "products":
        os.environ["RESPONSE_CACHE_ENABLED"] = "false"
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    variants, tokens = bench_http.reuse()
    application = WSGIHandler()
    nonce = uuid.uuid4().hex[:8]
    logging.disable(logging.INFO)

    def environ(n: int) -> dict:
        if args.endpoint == "products":
            return {
                "REQUEST_METHOD": "GET",
                "PATH_INFO": "/products/",
                "wsgi.input": io.BytesIO(),
            }
        body = json.dumps(
            {"items": [{"variant": variants[n % len(variants)], "quantity": 1}]}
        ).encode()
        return {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/orders/",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": "Bearer " + tokens[n % len(tokens)],
            "HTTP_IDEMPOTENCY_KEY": f"{nonce}-{n}",
            "wsgi.input": io.BytesIO(body),
        }

    expected = "200" if args.endpoint == "products" else "201"

    def request(n: int) -> None:
        statuses = []
        served = {**SERVER, "wsgi.errors": sys.stderr, **environ(n)}
        b"".join(application(served, lambda status, *_: statuses.append(status)))
        if not statuses[0].startswith(expected):
            bench_http._fail(f"request {n} answered {statuses[0]}")

    for n in range(WARM_UP):
        request(n)
    if args.requests <= 0:
        return
    profile = cProfile.Profile(time.process_time) if args.profile else None
    server_before = _server_cpu_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    for n in range(WARM_UP, WARM_UP + args.requests):
        request(n)
    if profile:
        profile.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if profile:
        profile.dump_stats(args.profile)
    each = 1000 / args.requests
    figures = f"wall {wall * each:.2f} ms, Python CPU {cpu * each:.2f} ms"
    if server_before is not None:
        server = _server_cpu_seconds() - server_before
        figures += f", MariaDB CPU {server * each:.2f} ms"
    print(f"{args.requests} requests to {args.endpoint}: {figures} per request")


if __name__ == "__main__":
    main()
