"""Fixtures shared by every app's tests.

Tests marked ``mariadb`` or ``redis`` need the real server. On a laptop
without one they skip; with ``MITHRAPAY_REQUIRE_SERVICES=1`` (set by CI) any
skipped test fails instead, so CI cannot pass on tests it did not run.
"""

import os
from contextlib import ExitStack, contextmanager

import pytest
from django.core.cache import cache
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

REQUIRE_SERVICES = os.environ.get("MITHRAPAY_REQUIRE_SERVICES") == "1"


def _using_mariadb() -> bool:
    from django.db import connection

    return connection.vendor == "mysql"


def _using_redis() -> bool:
    from mithrapay.health import cache_backend

    return cache_backend() == "redis"


def pytest_runtest_setup(item):
    if item.get_closest_marker("mariadb") and not _using_mariadb():
        pytest.skip("needs MariaDB: set DATABASE_URL=mysql://…")
    if item.get_closest_marker("redis") and not _using_redis():
        pytest.skip("needs Redis: set REDIS_URL=redis://…")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if REQUIRE_SERVICES and report.skipped:
        report.outcome = "failed"
        report.longrepr = (
            f"skipped where CI requires every test to run: {report.longrepr}"
        )
    return report


@pytest.fixture(autouse=True)
def _default_time_zone():
    """A test that activates a time zone leaves the next one in the default."""
    yield
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _clean_cache():
    """Every test starts with an empty cache (OTPs, throttles, catalog pages)
    and no site setting held from an earlier test's database."""
    from mithrapay import site_settings

    _clear_cache()
    site_settings.forget_held()
    yield
    _clear_cache()
    site_settings.forget_held()


@pytest.fixture(autouse=True)
def _empty_outbox():
    """Every test starts with no text messages sent, whichever app sent them."""
    from accounts import sms

    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _celery_join_flag():
    """Eager Celery tasks (texts, emails) run inside the race tests' threads.
    Each eager run saves, sets and restores one process-wide flag ("inside a
    task") without a lock, so runs in parallel threads can leave it set, and
    a later ``result.get()`` anywhere in the process would refuse to run;
    the flag is put back after every test."""
    from celery.result import allow_join_result

    with allow_join_result():
        yield


def _clear_cache():
    if hasattr(cache, "delete_pattern"):
        # Only this project's test keys, never the rest of a shared Redis.
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff_user(db):
    from accounts.tests.factories import UserFactory

    return UserFactory(is_staff=True)


@pytest.fixture
def auth_client(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


class _QueryLog:
    """Every query run on any database alias, as (alias, sql)."""

    def __init__(self):
        self.queries: list[tuple[str, str]] = []

    def __call__(self, execute, sql, params, many, context):
        self.queries.append((context["connection"].alias, sql))
        return execute(sql, params, many, context)

    def __len__(self):
        return len(self.queries)


@pytest.fixture
def max_queries_all_databases():
    """``with max_queries_all_databases(n):`` fails when the block runs more
    than ``n`` queries on all database aliases together (the primary and the
    replica), so moving reads to the replica cannot hide any."""

    @contextmanager
    def check(limit: int):
        log = _QueryLog()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(log))
            yield log
        if len(log) > limit:
            listing = "\n".join(f"[{alias}] {sql}" for alias, sql in log.queries)
            pytest.fail(
                f"Expected at most {limit} queries on all databases, "
                f"{len(log)} were run:\n{listing}"
            )

    return check
