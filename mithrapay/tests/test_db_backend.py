"""The MariaDB backend's health check: a ping before a request's first query
only when the connection has not been proved alive within ALIVE_FOR seconds,
and a dropped connection replaced before a request uses it. Its atomic
blocks: START TRANSACTION and the COMMIT or ROLLBACK, with Django's
transaction semantics."""

from unittest import mock

import pytest
from django.db import OperationalError, connection, connections, transaction

from blog.models import Tag
from mithrapay.db.mysql import base
from mithrapay.tests.transaction_checks import failing_block, tag_seen_elsewhere

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb]


@pytest.fixture
def wrapper():
    """A connection of its own, so the test can drop it without touching the
    one the test database runs on."""
    own = connections.create_connection("default")
    own.ensure_connection()
    yield own
    own.close()


def _request(own) -> int:
    """What a request does with the connection: Django's check at its start,
    then a query; answers the server's id of the connection it ran on."""
    own.close_if_unusable_or_obsolete()
    with own.cursor() as cursor:
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]


def _pings(own):
    """Counts the health checks (each one ping of the server)."""
    return mock.patch.object(own, "is_usable", wraps=own.is_usable)


def test_the_backend_is_django_mysql_with_health_checks_on():
    default = connections["default"]

    assert isinstance(default, base.DatabaseWrapper)
    assert default.vendor == "mysql"
    assert default.health_check_enabled


def test_a_connection_proved_alive_within_the_window_is_not_pinged(wrapper):
    _request(wrapper)

    with _pings(wrapper) as ping:
        _request(wrapper)
        _request(wrapper)

    assert ping.call_count == 0


def test_a_connection_quiet_past_the_window_is_pinged_once_per_window(wrapper):
    _request(wrapper)
    wrapper.alive_at -= base.ALIVE_FOR

    with _pings(wrapper) as ping:
        _request(wrapper)
        _request(wrapper)

    assert ping.call_count == 1


def test_a_connection_dropped_while_quiet_is_replaced_before_the_request(wrapper):
    dropped = _request(wrapper)
    with connection.cursor() as cursor:
        cursor.execute("KILL CONNECTION %s", [dropped])
    wrapper.alive_at -= base.ALIVE_FOR

    serving = _request(wrapper)

    assert serving != dropped


def test_a_connection_dropped_within_the_window_fails_one_request_only(wrapper):
    dropped = _request(wrapper)
    with connection.cursor() as cursor:
        cursor.execute("KILL CONNECTION %s", [dropped])

    with pytest.raises(OperationalError):
        _request(wrapper)
    serving = _request(wrapper)

    assert serving != dropped


# --- Atomic blocks -------------------------------------------------------------

_COUNTERS = ("Com_begin", "Com_commit", "Com_rollback", "Com_set_option")


def _statements_since(before: dict) -> dict:
    """How many of each transaction statement this session sent since
    ``before`` (MariaDB's own counters, not Django's query log)."""
    now = _counters()
    return {name: now[name] - before[name] for name in _COUNTERS}


def _counters() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SHOW SESSION STATUS WHERE Variable_name IN (%s, %s, %s, %s)", _COUNTERS
        )
        return {name: int(value) for name, value in cursor.fetchall()}


def _lock_elsewhere(pk: int) -> None:
    """Lock the tag from another connection, waiting at most a second."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
            cursor.execute("SELECT id FROM blog_tag WHERE id = %s FOR UPDATE", [pk])
    finally:
        other.close()


def _server_autocommit() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@autocommit")
        return cursor.fetchone()[0]


def test_an_atomic_block_is_start_transaction_then_commit_and_nothing_else():
    connection.ensure_connection()
    before = _counters()

    with transaction.atomic():
        Tag.objects.create(name="Music", slug="music")

    assert _statements_since(before) == {
        "Com_begin": 1,
        "Com_commit": 1,
        "Com_rollback": 0,
        "Com_set_option": 0,
    }
    assert tag_seen_elsewhere("music")
    assert _server_autocommit() == 1


def test_a_failed_block_is_rolled_back_and_the_session_stays_in_autocommit():
    connection.ensure_connection()
    before = _counters()

    with pytest.raises(RuntimeError):
        failing_block(lambda: Tag.objects.create(name="Film", slug="film"))

    assert _statements_since(before)["Com_rollback"] == 1
    assert _statements_since(before)["Com_set_option"] == 0
    assert not Tag.objects.filter(slug="film").exists()
    Tag.objects.create(name="Games", slug="games")
    assert tag_seen_elsewhere("games")  # committed by itself, outside any block


def test_a_block_holds_its_writes_and_locks_until_it_ends():
    with transaction.atomic():
        tag = Tag.objects.create(name="Music", slug="music")
        assert not tag_seen_elsewhere("music")
        with pytest.raises(OperationalError):
            _lock_elsewhere(tag.pk)
    assert tag_seen_elsewhere("music")


def test_an_inner_block_rolls_back_to_its_savepoint_and_the_outer_commits():
    with transaction.atomic():
        Tag.objects.create(name="Music", slug="music")
        with pytest.raises(RuntimeError):
            failing_block(lambda: Tag.objects.create(name="Film", slug="film"))

    assert tag_seen_elsewhere("music")
    assert not tag_seen_elsewhere("film")


def test_on_commit_callbacks_run_after_the_commit_and_not_after_a_rollback():
    ran = []

    with transaction.atomic():
        Tag.objects.create(name="Music", slug="music")
        transaction.on_commit(lambda: ran.append(tag_seen_elsewhere("music")))
    with pytest.raises(RuntimeError):
        failing_block(lambda: transaction.on_commit(lambda: ran.append("rolled back")))

    assert ran == [True]
