"""What one ``POST /orders/`` costs in one process, with nothing else running.

    .venv/bin/python bench/order_cost.py --orders 500
    make bench-order-cost      # the same under valgrind: instructions per order

Runs on the database ``make bench`` seeded (``mithrapay_bench``, production
settings, the same environment as bench_http.py) and calls Django's WSGI
handler directly, with a customer's token and a fresh Idempotency-Key per
order, as the HTTP benchmark's load does. It prints the wall time and the
Python process's CPU time per order, and the MariaDB server's CPU time per
order when the server runs on this machine.

Wall and CPU times on a shared machine drift by a third between minutes;
the instruction count ``make bench-order-cost`` prints (callgrind, the
Python process only) is the same from run to run, so it is the figure to
compare two versions of the code by.
"""

import argparse
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


def _server_cpu_seconds() -> float | None:
    found = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True)
    if not found.stdout.split():
        return None
    pid = found.stdout.split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args()

    os.environ.update(bench_http.bench_environment(workers=1))
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    variants, tokens = bench_http.reuse()
    application = WSGIHandler()
    nonce = uuid.uuid4().hex[:8]
    logging.disable(logging.INFO)

    def order(n: int) -> None:
        body = json.dumps(
            {"items": [{"variant": variants[n % len(variants)], "quantity": 1}]}
        ).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/orders/",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_AUTHORIZATION": "Bearer " + tokens[n % len(tokens)],
            "HTTP_IDEMPOTENCY_KEY": f"{nonce}-{n}",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        statuses = []
        b"".join(application(environ, lambda status, *_: statuses.append(status)))
        if not statuses[0].startswith("201"):
            bench_http._fail(f"order {n} answered {statuses[0]}")

    for n in range(WARM_UP):
        order(n)
    if args.orders <= 0:
        return
    server_before = _server_cpu_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(WARM_UP, WARM_UP + args.orders):
        order(n)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    each = 1000 / args.orders
    figures = f"wall {wall * each:.2f} ms, Python CPU {cpu * each:.2f} ms"
    if server_before is not None:
        server = _server_cpu_seconds() - server_before
        figures += f", MariaDB CPU {server * each:.2f} ms"
    print(f"{args.orders} orders: {figures} per order")


if __name__ == "__main__":
    main()
