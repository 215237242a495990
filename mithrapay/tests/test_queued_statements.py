"""Statements that wait on the MariaDB connection for the transaction's next
one (``queue_statement``), the START TRANSACTION that waits for a block's
first statement, and reads that ride after the COMMIT
(``read_after_commit``), and several statements sent at once
(``run_statements``): fewer round trips, the same order of statements, the
same errors and the same transaction."""

import contextlib
from unittest import mock

import pytest
from django.db import (
    DatabaseError,
    IntegrityError,
    connection,
    transaction,
)
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from blog.models import Tag
from catalog import services as catalog_services
from catalog.models import DigitalCode
from mithrapay import statements
from mithrapay.tests.transaction_checks import failing_block, tag_seen_elsewhere
from orders.models import ItemCode, Order, OrderEvent
from orders.services import order_create
from orders.tests.factories import VariantFactory, add_codes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mariadb]

INSERT = "INSERT INTO blog_tag (name, slug) VALUES (%s, %s)"
COUNT = "SELECT COUNT(*) FROM blog_tag WHERE slug = %s"


@contextlib.contextmanager
def _round_trips():
    """Every query this connection sends MariaDB, one entry per round trip
    (the driver's own commit() and rollback() each send one statement)."""
    connection.ensure_connection()
    driver = connection.connection
    sent = []
    query, commit, rollback = driver.query, driver.commit, driver.rollback

    def counted(text):
        sent.append(text if isinstance(text, bytes) else text.encode())
        return query(text)

    def committed():
        sent.append(b"COMMIT")
        return commit()

    def rolled_back():
        sent.append(b"ROLLBACK")
        return rollback()

    driver.query, driver.commit, driver.rollback = counted, committed, rolled_back
    try:
        yield sent
    finally:
        # The driver's connection takes attributes but cannot lose them: the
        # methods go back as bound methods of its own class.
        for name in ("query", "commit", "rollback"):
            setattr(driver, name, getattr(type(driver), name).__get__(driver))


def _statements(sent: list[bytes]) -> list[list[str]]:
    """Each round trip as the first word of each of its statements."""
    return [
        [part.split(maxsplit=1)[0].decode() for part in trip.split(b";")]
        for trip in sent
    ]


def test_a_block_starts_its_transaction_with_its_first_statement():
    with _round_trips() as sent, transaction.atomic():
        connection.run_statement(INSERT, ["Music", "music"], fetch=False)
        assert not tag_seen_elsewhere("music")

    assert _statements(sent) == [["START", "INSERT"], ["COMMIT"]]
    assert tag_seen_elsewhere("music")


def test_queued_statements_go_in_order_with_the_next_statement():
    with _round_trips() as sent, transaction.atomic():
        connection.queue_statement(INSERT, ["Music", "music"])
        connection.queue_statement(
            "UPDATE blog_tag SET name = %s WHERE slug = %s", ["Film", "music"]
        )
        assert sent == []
        rows, _count = connection.run_statement(
            "SELECT name FROM blog_tag WHERE slug = %s", ["music"], fetch=True
        )

    assert rows == (("Film",),)
    assert _statements(sent) == [["START", "INSERT", "UPDATE", "SELECT"], ["COMMIT"]]


def test_queued_statements_go_with_the_commit():
    with _round_trips() as sent, transaction.atomic():
        connection.run_statement(INSERT, ["Music", "music"], fetch=False)
        connection.queue_statement(INSERT, ["Film", "film"])
        assert not tag_seen_elsewhere("film")

    assert _statements(sent) == [["START", "INSERT"], ["INSERT", "COMMIT"]]
    assert tag_seen_elsewhere("music")
    assert tag_seen_elsewhere("film")


def test_djangos_cursor_sends_the_queued_statements_before_its_own():
    with _round_trips() as sent, transaction.atomic():
        connection.queue_statement(INSERT, ["Music", "music"])
        assert Tag.objects.filter(slug="music").exists()

    assert [trip[0] for trip in _statements(sent)] == ["START", "SELECT", "COMMIT"]


def test_a_failing_queued_statement_fails_the_statement_it_went_with():
    Tag.objects.create(name="Music", slug="music")

    def block():
        with transaction.atomic():
            connection.run_statement(INSERT, ["Film", "film"], fetch=False)
            connection.queue_statement(INSERT, ["Music", "music"])
            connection.run_statement(INSERT, ["Games", "games"], fetch=False)

    with pytest.raises(IntegrityError):
        block()

    # MariaDB stopped at the duplicate; the block rolled everything back.
    assert not tag_seen_elsewhere("film")
    assert not tag_seen_elsewhere("games")
    assert Tag.objects.count() == 1


def test_a_failing_queued_statement_fails_the_commit_and_nothing_is_kept():
    Tag.objects.create(name="Music", slug="music")
    ran = []

    def block():
        with transaction.atomic():
            connection.run_statement(INSERT, ["Film", "film"], fetch=False)
            connection.queue_statement(INSERT, ["Music", "music"])
            transaction.on_commit(lambda: ran.append("committed"))

    with pytest.raises(IntegrityError):
        block()

    assert not tag_seen_elsewhere("film")
    assert ran == []
    # The connection serves the next transaction as usual.
    with transaction.atomic():
        connection.queue_statement(INSERT, ["Games", "games"])
    assert tag_seen_elsewhere("games")


def test_a_failed_block_never_sends_what_waited():
    with _round_trips() as sent, pytest.raises(RuntimeError):
        failing_block(lambda: connection.queue_statement(INSERT, ["Music", "music"]))

    assert _statements(sent) == [["ROLLBACK"]]
    assert not Tag.objects.filter(slug="music").exists()


def test_an_inner_block_rolled_back_undoes_only_its_own_queued_statements():
    with transaction.atomic():
        connection.queue_statement(INSERT, ["Music", "music"])
        with pytest.raises(RuntimeError):
            failing_block(lambda: connection.queue_statement(INSERT, ["Film", "film"]))
        connection.queue_statement(INSERT, ["Games", "games"])

    assert tag_seen_elsewhere("music")
    assert not tag_seen_elsewhere("film")
    assert tag_seen_elsewhere("games")


def test_outside_a_transaction_a_queued_statement_runs_at_once():
    with _round_trips() as sent:
        connection.queue_statement(INSERT, ["Music", "music"])
        assert tag_seen_elsewhere("music")

    assert _statements(sent) == [["INSERT"]]


def test_a_read_after_commit_goes_in_the_commits_round_trip_and_sees_it():
    seen = []

    with _round_trips() as sent, transaction.atomic():
        connection.run_statement(INSERT, ["Music", "music"], fetch=False)
        connection.read_after_commit(COUNT, ["music"], seen.append)
        connection.queue_statement(INSERT, ["Film", "film"])
        assert seen == []

    assert seen == [((1,),)]
    assert _statements(sent) == [["START", "INSERT"], ["INSERT", "COMMIT", "SELECT"]]


def test_a_read_after_commit_runs_outside_the_transaction():
    """What the read is for: it runs once the COMMIT has ended the
    transaction, where a read queued before the COMMIT would run inside it."""
    seen = []
    with transaction.atomic():
        connection.run_statement(INSERT, ["Music", "music"], fetch=False)
        connection.queue_statement("SET @inside = @@in_transaction", [])
        connection.read_after_commit(
            "SELECT @inside, @@in_transaction", [], seen.append
        )

    assert seen == [((1, 0),)]


def test_no_read_after_a_rollback():
    seen = []

    with _round_trips() as sent, pytest.raises(RuntimeError):
        failing_block(
            lambda: connection.run_statement(INSERT, ["Music", "music"], fetch=False),
            lambda: connection.read_after_commit(COUNT, ["music"], seen.append),
        )

    assert seen == []
    assert _statements(sent) == [["START", "INSERT"], ["ROLLBACK"]]


def test_a_failed_read_after_commit_keeps_the_commit_and_raises_on_its_own():
    seen = []

    def block():
        with transaction.atomic():
            connection.run_statement(INSERT, ["Music", "music"], fetch=False)
            connection.read_after_commit(COUNT, ["music"], seen.append)
            connection.read_after_commit(
                "SELECT no_such_column FROM blog_tag", [], seen.append
            )
            connection.read_after_commit(COUNT, ["music"], seen.append)

    with pytest.raises(DatabaseError):
        block()

    # The commit stands; the first read came back with it; the failed one,
    # run again on its own as its callback came due, raised as an on_commit
    # callback's error does.
    assert tag_seen_elsewhere("music")
    assert seen == [((1,),)]


def test_outside_a_transaction_a_read_after_commit_runs_at_once():
    Tag.objects.create(name="Music", slug="music")
    seen = []

    connection.read_after_commit(COUNT, ["music"], seen.append)

    assert seen == [((1,),)]


def test_several_statements_go_in_one_round_trip_each_with_its_answer():
    with _round_trips() as sent, transaction.atomic():
        connection.queue_statement(INSERT, ["Music", "music"])
        answers = connection.run_statements(
            [
                ("UPDATE blog_tag SET name = %s WHERE slug = %s", ["Film", "music"]),
                ("SELECT name FROM blog_tag WHERE slug = %s", ["music"]),
                ("SELECT name FROM blog_tag WHERE slug = %s", ["none"]),
            ]
        )

    assert answers == [((), 1), ((("Film",),), 1), ((), 0)]
    assert _statements(sent) == [
        ["START", "INSERT", "UPDATE", "SELECT", "SELECT"],
        ["COMMIT"],
    ]


def test_several_statements_stop_at_the_first_that_fails():
    Tag.objects.create(name="Music", slug="music")

    def block():
        with transaction.atomic():
            connection.run_statements(
                [
                    (INSERT, ["Film", "film"]),
                    (INSERT, ["Music", "music"]),
                    (INSERT, ["Games", "games"]),
                ]
            )

    with pytest.raises(IntegrityError):
        block()

    assert not tag_seen_elsewhere("film")
    assert not tag_seen_elsewhere("games")


def test_statements_run_at_once_through_djangos_cursor_when_queries_are_watched():
    with (
        transaction.atomic(),
        CaptureQueriesContext(connection) as captured,
    ):
        statements.execute_later(connection, INSERT, ["Music", "music"])
        assert "INSERT INTO blog_tag" in captured.captured_queries[-1]["sql"]
        assert connection.queued == []


# --- A checkout ------------------------------------------------------------------


def _new_order_like_a_placed_one(user, number: str) -> Order:
    """An unsaved order of ``user``, its amounts and expiry those of an
    order placed for one code."""
    variant = VariantFactory()
    add_codes(variant, 1)
    order = order_create(user=user, lines=[{"variant": variant.pk, "quantity": 1}])
    return Order(
        number=number,
        user=user,
        subtotal=order.subtotal,
        total=order.total,
        currency=order.currency,
        expires_at=order.expires_at,
    )


def test_a_parent_and_its_children_go_in_one_round_trip(user):
    parent = _new_order_like_a_placed_one(user, "P-1")
    notes = [
        OrderEvent(kind=OrderEvent.Kind.NOTE, actor=OrderEvent.Actor.STAFF)
        for _ in range(2)
    ]

    with _round_trips() as sent, transaction.atomic():
        statements.insert_with_parent(parent, notes, "order")

    assert _statements(sent) == [["START", "INSERT", "INSERT"], ["COMMIT"]]
    assert b"LAST_INSERT_ID()" in sent[0]
    stored = OrderEvent.objects.filter(pk__in=[note.pk for note in notes])
    assert sorted(stored.values_list("order_id", flat=True)) == [parent.pk] * 2


def test_a_parent_and_its_children_go_one_by_one_when_queries_are_watched(user):
    parent = _new_order_like_a_placed_one(user, "P-2")
    notes = [OrderEvent(kind=OrderEvent.Kind.NOTE, actor=OrderEvent.Actor.STAFF)]

    with CaptureQueriesContext(connection) as queries:
        statements.insert_with_parent(parent, notes, "order")

    inserts = [q["sql"] for q in queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 2
    assert "LAST_INSERT_ID" not in inserts[1]
    assert OrderEvent.objects.get(pk=notes[0].pk).order_id == parent.pk


def _customer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def test_a_checkout_is_six_round_trips_to_mariadb(user):
    variant = VariantFactory()
    add_codes(variant, 2)
    client = _customer(user)
    body = {"items": [{"variant": variant.pk, "quantity": 1}]}
    # The first checkout of the process reads the site settings and compiles
    # its statements; the second is what every later one costs.
    first = client.post("/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201

    with _round_trips() as sent:
        answer = client.post(
            "/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        )

    assert answer.status_code == 201, answer.content
    assert _statements(sent) == [
        ["SELECT"],  # the token's user
        ["INSERT"],  # the idempotency claim, committed first
        ["SELECT"],  # the variants
        # The customer's row, locked, with their unpaid orders; a free code,
        # locked.
        ["START", "SELECT", "SELECT"],
        # The code reserved; the order; its items.
        ["UPDATE", "INSERT", "INSERT"],
        # The code tied to its item, the events, the stored answer, the
        # commit, and the sold-out check on what is committed.
        ["INSERT", "INSERT", "UPDATE", "COMMIT", "SELECT"],
    ]
    order = Order.objects.get(pk=answer.json()["id"])
    assert ItemCode.objects.filter(item__order=order).count() == 1
    kinds = OrderEvent.objects.filter(order=order).values_list("kind", flat=True)
    assert set(kinds) == {"reserved", "created"}
    replay = client.post("/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert replay.json() == answer.json()


def test_the_checkout_that_takes_the_last_code_marks_the_catalog_stale(user):
    variant = VariantFactory()
    add_codes(variant, 2)
    client = _customer(user)
    body = {"items": [{"variant": variant.pk, "quantity": 1}]}

    with mock.patch.object(catalog_services, "catalog_version_bump") as bump:
        assert client.post("/orders/", body, format="json").status_code == 201
        assert bump.call_count == 0
        assert client.post("/orders/", body, format="json").status_code == 201
        assert bump.call_count == 1


def test_a_checkout_of_two_code_lines_reads_both_with_the_customers_lock(user):
    first, second = VariantFactory(), VariantFactory()
    add_codes(first, 1)
    add_codes(second, 1)
    client = _customer(user)
    body = {
        "items": [
            {"variant": second.pk, "quantity": 1},
            {"variant": first.pk, "quantity": 1},
        ]
    }

    with _round_trips() as sent:
        answer = client.post("/orders/", body, format="json")

    assert answer.status_code == 201, answer.content
    assert ["START", "SELECT", "SELECT", "SELECT"] in _statements(sent)
    links = ItemCode.objects.filter(item__order_id=answer.json()["id"])
    assert sorted(links.values_list("item__variant_id", "code__variant_id")) == [
        (first.pk, first.pk),
        (second.pk, second.pk),
    ]
    assert set(DigitalCode.objects.values_list("status", flat=True)) == {"reserved"}


def test_a_checkout_over_the_unpaid_order_cap_leaves_the_code_it_read(user, settings):
    settings.MAX_PENDING_ORDERS = 1
    variant = VariantFactory()
    add_codes(variant, 2)
    client = _customer(user)
    body = {"items": [{"variant": variant.pk, "quantity": 1}]}
    assert client.post("/orders/", body, format="json").status_code == 201

    refused = client.post("/orders/", body, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "too_many_pending_orders"
    statuses = DigitalCode.objects.order_by("status").values_list("status", flat=True)
    assert list(statuses) == ["available", "reserved"]
