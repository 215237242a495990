import pytest
from celery.contrib.testing.worker import start_worker

from mithrapay.celery import app
from mithrapay.tasks import ping


def test_ping_runs_in_process_without_a_broker():
    assert ping.delay().get(timeout=5) == "pong"


@pytest.mark.redis
def test_ping_goes_through_the_redis_broker_to_a_worker(settings):
    # A real worker thread consuming from the Redis broker of REDIS_URL.
    app.conf.update(
        task_always_eager=False,
        broker_url=settings.REDIS_URL,
        result_backend=settings.REDIS_URL,
    )
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10
        ):
            result = ping.apply_async()
            assert result.get(timeout=20) == "pong"
    finally:
        app.conf.update(task_always_eager=True)
