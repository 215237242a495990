"""The MariaDB backend's ``run_statement``, which runs the compiled statements
of ``mithrapay.statements`` on the driver's connection: the same rows, counts
and errors as Django's cursor, the same checks before it runs, and Django's
cursor still used wherever queries are watched."""

import asyncio
import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import SynchronousOnlyOperation
from django.db import (
    IntegrityError,
    ProgrammingError,
    connection,
    connections,
    transaction,
)
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from blog.models import Tag
from mithrapay import statements
from mithrapay.db.mysql import base

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb]

# Every kind of value the application hands the driver, with the characters
# quoting has to get right.
VALUES = [
    'it\'s a "quote", a back\\slash and 100%',
    "یک کد هدیه ۱۲۳",
    "",
    None,
    0,
    -(2**62),
    Decimal("107000.00"),
    1.5,
    True,
    datetime.date(2026, 12, 4),
    # A naive time, as Django hands the driver a stored time (in UTC).
    datetime.datetime(2026, 12, 4, 8, 30, 15, 123456),  # noqa: DTZ001
    b"\x00\x01 bytes",
]
PLACEHOLDERS = ", ".join(["%s"] * len(VALUES))


def _django_cursor(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall(), cursor.rowcount


def test_every_kind_of_value_comes_back_as_through_djangos_cursor():
    sql = f"SELECT {PLACEHOLDERS}, 'a%%b'"

    rows, rowcount = connection.run_statement(sql, VALUES, fetch=True)
    expected_rows, expected_count = _django_cursor(sql, VALUES)

    assert (tuple(rows), rowcount) == (tuple(expected_rows), expected_count)
    assert rows[0][0] == VALUES[0]
    assert rows[0][-1] == "a%b"


def test_rows_and_counts_are_the_ones_djangos_cursor_gives():
    Tag.objects.bulk_create([Tag(name=f"tag {n}", slug=f"tag-{n}") for n in range(3)])
    select = "SELECT id, name FROM blog_tag WHERE name LIKE %s ORDER BY id"
    update = "UPDATE blog_tag SET slug = CONCAT(slug, '-x') WHERE name IN (%s, %s)"

    assert connection.run_statement(select, ["tag%"], fetch=True) == (
        tuple(_django_cursor(select, ["tag%"])[0]),
        3,
    )
    assert connection.run_statement(update, ["tag 0", "tag 2"], fetch=False) == (
        None,
        2,
    )
    assert sorted(Tag.objects.values_list("slug", flat=True)) == [
        "tag-0-x",
        "tag-1",
        "tag-2-x",
    ]


def test_a_duplicate_key_is_djangos_integrity_error_and_the_connection_goes_on():
    Tag.objects.create(name="gift", slug="gift")
    insert = "INSERT INTO blog_tag (name, slug) VALUES (%s, %s)"

    with pytest.raises(IntegrityError) as raised:
        connection.run_statement(insert, ["gift", "other"], fetch=False)

    assert raised.value.args[0] == 1062
    assert connection.run_statement("SELECT 1", [], fetch=True) == (((1,),), 1)


def test_the_codes_djangos_cursor_reads_as_integrity_errors_are_read_so():
    # MariaDB reports a NULL in a NOT NULL column (1048) as an operational
    # error; Django's MySQL cursor turns it into an integrity error.
    insert = "INSERT INTO blog_tag (name, slug) VALUES (%s, %s)"

    with pytest.raises(IntegrityError) as raised:
        connection.run_statement(insert, [None, "no-name"], fetch=False)

    assert raised.value.args[0] == 1048
    assert not Tag.objects.exists()


def test_a_placeholder_without_its_value_is_a_programming_error():
    with pytest.raises(ProgrammingError):
        connection.run_statement("SELECT %s, %s", [1], fetch=True)


def test_a_statement_in_a_broken_transaction_is_refused_as_djangos_cursor_refuses():
    with transaction.atomic():
        transaction.set_rollback(True)
        # Django sets this flag when a statement of the block has failed.
        connection.needs_rollback = True

        with pytest.raises(TransactionManagementError):
            connection.run_statement("SELECT 1", [], fetch=True)


def test_it_refuses_to_run_inside_an_event_loop():
    async def inside_a_loop():
        connection.run_statement("SELECT 1", [], fetch=True)

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(inside_a_loop())


def test_a_connection_dropped_while_quiet_is_replaced_before_the_statement():
    own = connections.create_connection("default")
    try:
        own.ensure_connection()
        ((dropped,),), _count = own.run_statement(
            "SELECT CONNECTION_ID()", [], fetch=True
        )
        with connection.cursor() as cursor:
            cursor.execute("KILL CONNECTION %s", [dropped])
        own.alive_at -= base.ALIVE_FOR
        own.close_if_unusable_or_obsolete()  # what a request's start does

        ((serving,),), _count = own.run_statement(
            "SELECT CONNECTION_ID()", [], fetch=True
        )
    finally:
        own.close()

    assert serving != dropped


# --- mithrapay.statements picks the path -------------------------------------------


def _compiled_read():
    Tag.objects.create(name="gift", slug="gift")
    return statements.Statement.of(Tag.objects.values("name"), "default")


def test_compiled_statements_run_on_the_driver_when_nothing_watches():
    read = _compiled_read()

    with mock.patch.object(
        connection, "run_statement", wraps=connection.run_statement
    ) as run:
        rows = read.rows("default")

    assert rows == [{"name": "gift"}]
    assert run.call_count == 1


def test_a_test_counting_queries_still_sees_every_compiled_statement():
    read = _compiled_read()

    with (
        mock.patch.object(connection, "run_statement") as run,
        CaptureQueriesContext(connection) as captured,
    ):
        rows = read.rows("default")

    assert rows == [{"name": "gift"}]
    assert run.call_count == 0
    assert [query["sql"] for query in captured.captured_queries] == [read.sql]


def test_an_execute_wrapper_still_sees_every_compiled_statement():
    read = _compiled_read()
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with (
        mock.patch.object(connection, "run_statement") as run,
        connection.execute_wrapper(wrapper),
    ):
        rows = read.rows("default")

    assert rows == [{"name": "gift"}]
    assert run.call_count == 0
    assert seen == [read.sql]
