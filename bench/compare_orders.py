"""The checkout under load, two versions of the code in alternating runs.

    DATABASE_URL=mysql://… REDIS_URL=redis://… make bench-compare BASE=HEAD~1
    .venv/bin/python bench/compare_orders.py --base HEAD~1 --rounds 4

On the data ``make bench`` seeded (``mithrapay_bench``), each round starts
gunicorn as ``make bench`` does, once on the version ``--base`` names (a git
worktree of it, made for the run beside this checkout and removed after)
and once on this checkout, in turn (A then B, then B then A, and so on), and
loads each with wrk: ``GET /``, then ``POST /orders/`` with 32 customers at
once. A single run's absolute figures drift with the machine's speed from
minute to minute by more than most changes make; alternating the versions
minute by minute is what lets a difference of a few percent show. Both
versions run in this checkout's virtual environment, so a change of
requirements is not compared by this.

It prints each load's orders a second, p50 and p99, and the order load's
ratio to the ``GET /`` load right before it, then the means per version. It
fails (exit 1) on any answer outside 2xx: the runs use up codes, about
3,000 per load, and ``make bench`` seeds 100,000 again.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_http

BASE_DIR = bench_http.BASE_DIR


def _worktree(ref: str, folder: Path) -> Path:
    path = folder / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(path), ref],
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="the git ref to compare with")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10, help="seconds per load")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    env = bench_http.bench_environment(workers=args.workers)
    os.environ.update(env)
    import django

    django.setup()
    variants, tokens = bench_http.reuse()
    from django.db import connection

    connection.close()
    load = {"threads": 2, "connections": 32, "duration": args.duration}
    warm = {**load, "duration": 2}
    url = f"http://127.0.0.1:{args.port}"
    log = Path(tempfile.gettempdir()) / "mithrapay-compare-gunicorn.log"
    log.write_bytes(b"")
    figures: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
    failures = []

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        tokens_file = bench_http.paths_file(folder, "tokens", tokens)
        variants_file = bench_http.paths_file(
            folder, "variants", [str(v) for v in variants]
        )
        root = bench_http.paths_file(folder, "root", ["/"])
        versions = {"A": _worktree(args.base, folder), "B": BASE_DIR}
        print(f"A: {args.base}; B: this checkout")
        try:
            for round_ in range(args.rounds):
                order = ("A", "B") if round_ % 2 == 0 else ("B", "A")
                for name in order:
                    server = bench_http.start_server(
                        env,
                        port=args.port,
                        workers=args.workers,
                        log=log,
                        source=versions[name],
                    )
                    try:
                        nonce = uuid.uuid4().hex[:8]
                        orders_args = [tokens_file, variants_file]
                        bench_http.wrk("warm", url, "get.lua", [root], **warm)
                        bench_http.wrk(
                            "warm",
                            url,
                            "orders.lua",
                            [*orders_args, "w" + nonce, "2"],
                            **warm,
                        )
                        base = bench_http.wrk("GET /", url, "get.lua", [root], **load)
                        orders = bench_http.wrk(
                            "POST /orders/",
                            url,
                            "orders.lua",
                            [*orders_args, nonce, "2"],
                            **load,
                        )
                    finally:
                        bench_http.stop_server(server)
                    bad = orders.non_2xx + orders.socket_errors + base.non_2xx
                    if bad:
                        failures.append(f"round {round_ + 1} {name}: {bad} bad answers")
                    ratio = orders.rate / base.rate
                    figures[name].append((orders.rate, ratio))
                    print(
                        f"round {round_ + 1} {name}: GET / {base.rate:5.0f} req/s, "
                        f"orders {orders.rate:4.0f}/s p50 {orders.p50_ms:6.1f} ms "
                        f"p99 {orders.p99_ms:6.1f} ms, ratio {ratio:.3f}",
                        flush=True,
                    )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(versions["A"])],
                cwd=BASE_DIR,
                check=False,
                capture_output=True,
            )

    for name, rows in figures.items():
        if rows:
            print(
                f"{name}: {mean(rate for rate, _ in rows):.0f} orders/s, "
                f"ratio {mean(ratio for _, ratio in rows):.3f} (mean of {len(rows)})"
            )
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
