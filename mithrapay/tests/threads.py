"""Real threads released together, for the race tests on MariaDB and Redis."""

import threading

from django.db import connection


def run_together(count: int, work) -> list:
    """Call ``work(index)`` from ``count`` threads released at once; each
    thread's result, or the exception it raised, in index order. Each thread
    closes its own database connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
