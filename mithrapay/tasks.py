from celery import shared_task


@shared_task(name="mithrapay.ping")
def ping() -> str:
    """Answer ``pong``: proves a worker consumes from the broker."""
    return "pong"
