"""Time the blog's public reads against a throwaway database.

    APP_ENV=test .venv/bin/python -m blog.bench [--posts 2000] [--runs 200]

Uses the database and cache that DATABASE_URL and REDIS_URL name, but
creates its own test database (``test_mithrapay_blog_bench``) and drops it
at the end, so no real data is touched. Prints the median and 95th
percentile of each request in milliseconds, and its query count.
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from datetime import timedelta


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _setup():
    os.environ.setdefault("APP_ENV", "test")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mithrapay.settings")
    import django

    django.setup()


def _seed(posts: int) -> str:
    from django.utils import timezone

    from accounts.models import User
    from blog.models import Post, Tag
    from catalog.models import Category, Product

    author = User.objects.create_user(
        email="bench-author@example.com", password="x" * 12, is_staff=True
    )
    tags = [Tag.objects.create(name=f"Tag {i}", slug=f"tag-{i}") for i in range(20)]
    category = Category.objects.create(name="Gift cards", slug="gift-cards")
    products = [
        Product.objects.create(
            kind=Product.Kind.GIFT_CARD,
            brand="Apple",
            category=category,
            name=f"Card {i}",
            slug=f"card-{i}",
        )
        for i in range(50)
    ]
    body = ("Redeem the **card** in the store app. " * 60 + "\n\n") * 5
    now = timezone.now()
    for i in range(posts):
        post = Post.objects.create(
            title=f"How to redeem gift card {i}",
            slug=f"post-{i}",
            excerpt="Step by step.",
            body=body,
            status=Post.Status.PUBLISHED if i % 10 else Post.Status.DRAFT,
            published_at=now - timedelta(minutes=i),
            author=author,
        )
        post.tags.set(tags[i % 20 : i % 20 + 3])
        post.products.set(products[i % 50 : i % 50 + 3])
    return "post-1"


def _measure(client, path: str, runs: int) -> tuple[float, float, int]:
    from django.db import connection

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, len(executed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    options = parser.parse_args()

    # whitenoise notes the missing collectstatic folder; irrelevant here.
    warnings.filterwarnings("ignore", message="No directory at")
    _setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from mithrapay.health import cache_backend

    setup_test_environment()
    settings.DATABASES["default"].setdefault("TEST", {})
    if connection.vendor == "mysql":
        settings.DATABASES["default"]["TEST"]["NAME"] = "test_mithrapay_blog_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        started = time.perf_counter()
        slug = _seed(options.posts)
        seeded = time.perf_counter() - started
        client = Client()
        _out(
            f"{options.posts} posts seeded in {seeded:.1f} s on "
            f"{connection.vendor}, cache {cache_backend()}, {options.runs} runs each"
        )
        _out(f"{'request':<32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
        for path in (
            "/blog/",
            "/blog/?page=50",
            "/blog/?tag=tag-3",
            "/blog/?search=gift+card+1999",
            f"/blog/{slug}",
            "/blog/feed/",
            "/settings/public",
        ):
            median, p95, queries = _measure(client, path, options.runs)
            _out(f"{path:<32} {median:>10.2f} {p95:>8.2f} {queries:>8}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
