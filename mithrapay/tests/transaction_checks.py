"""Checks on what a transaction left behind, shared by the MariaDB backend's
tests: whether another connection sees a row, and a block that fails."""

from django.db import connections, transaction


def tag_seen_elsewhere(slug: str) -> bool:
    """Whether another connection sees the blog tag ``slug`` (what is
    committed)."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM blog_tag WHERE slug = %s", [slug])
            return cursor.fetchone()[0] == 1
    finally:
        other.close()


def failing_block(*work) -> None:
    """An atomic block that calls each of ``work`` and then fails."""
    with transaction.atomic():
        for step in work:
            step()
        raise RuntimeError("the block fails")
