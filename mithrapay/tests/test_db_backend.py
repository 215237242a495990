"""The MariaDB backend's health check: a ping before a request's first query
only when the connection has not been proved alive within ALIVE_FOR seconds,
and a dropped connection replaced before a request uses it."""

from unittest import mock

import pytest
from django.db import OperationalError, connection, connections

from mithrapay.db.mysql import base

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
