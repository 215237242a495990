"""``mithrapay.statements``: compiled reads and inserts give what the ORM
gives."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from mithrapay import statements
from mithrapay.statements import (
    ID_SENTINEL,
    Statement,
    insert_all,
    insert_with_parent,
)
from orders import services
from orders.models import IdempotencyKey, Order, OrderEvent
from orders.tests.factories import VariantFactory, add_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(user):
    variant = VariantFactory()
    add_codes(variant, 1)
    return services.order_create(
        user=user, lines=[{"variant": variant.pk, "quantity": 1}]
    )


def _events(order, count):
    return [
        OrderEvent(
            order=order,
            kind=OrderEvent.Kind.NOTE,
            actor=OrderEvent.Actor.STAFF,
            message=f"note {n}",
            data={"n": n, "text": "یادداشت"},
        )
        for n in range(count)
    ]


def _stored(events):
    return [
        (
            event.pk,
            event.order_id,
            event.kind,
            event.message,
            event.data,
            event.created_at,
        )
        for event in events
    ]


@pytest.mark.parametrize("count", [1, 3])
def test_insert_all_stores_what_bulk_create_stores(order, count):
    statements._inserts.clear()
    for _round in range(2):  # the compile, then the compiled statement
        before = timezone.now()
        events = insert_all(_events(order, count))

        assert all(event.pk is not None for event in events)
        assert all(not event._state.adding for event in events)
        assert all(event._state.db == "default" for event in events)
        assert all(event.created_at >= before for event in events)
        stored = OrderEvent.objects.filter(pk__in=[event.pk for event in events])
        assert _stored(stored.order_by("pk")) == _stored(events)
    assert statements._inserts[(OrderEvent, "default", count)] is not None


def test_insert_all_refuses_a_duplicate_like_bulk_create(order, user):
    statements._inserts.clear()
    claim = {
        "user": user,
        "key": "k",
        "key_digest": "d" * 64,
        "fingerprint": "f" * 64,
        "expires_at": timezone.now() + timedelta(hours=1),
    }
    insert_all([IdempotencyKey(**claim)])

    for _round in range(2):
        with pytest.raises(IntegrityError), transaction.atomic():
            insert_all([IdempotencyKey(**claim)])
    assert IdempotencyKey.objects.filter(user=user, key="k").count() == 1


def _order_like(order, number: str) -> Order:
    """A new order of the same customer and totals as ``order``."""
    return Order(
        number=number,
        user=order.user,
        subtotal=order.subtotal,
        total=order.total,
        currency=order.currency,
        expires_at=order.expires_at,
    )


def _notes(count: int, text: str = "note") -> list[OrderEvent]:
    """Events of no order yet."""
    return [
        OrderEvent(
            kind=OrderEvent.Kind.NOTE,
            actor=OrderEvent.Actor.STAFF,
            message=f"{text} {n}",
            data={"n": n},
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, 3])
def test_insert_with_parent_points_every_child_at_the_new_parent(order, count):
    statements._inserts.clear()
    statements._inserts_under_parent.clear()
    for round_ in range(2):  # the compile, then the compiled statements
        parent = _order_like(order, f"P-{count}-{round_}")

        children = insert_with_parent(parent, _notes(count), "order")

        assert parent.pk is not None
        assert not parent._state.adding
        assert Order.objects.filter(pk=parent.pk, number=parent.number).exists()
        assert len({child.pk for child in children}) == count
        assert all(child.order is parent for child in children)
        assert all(not child._state.adding for child in children)
        stored = OrderEvent.objects.filter(pk__in=[child.pk for child in children])
        assert _stored(stored.order_by("pk")) == _stored(children)
        assert {event.order_id for event in stored} == {parent.pk}


def test_a_parent_refused_inserts_none_of_its_children(order):
    insert_with_parent(_order_like(order, "P-1"), _notes(1), "order")
    statements._inserts_under_parent.clear()

    for _round in range(2):
        with pytest.raises(IntegrityError), transaction.atomic():
            insert_with_parent(_order_like(order, "P-1"), _notes(2, "orphan"), "order")

    assert not OrderEvent.objects.filter(message__startswith="orphan").exists()
    assert Order.objects.filter(number="P-1").count() == 1


def test_insert_with_parent_and_no_children_inserts_the_parent(order):
    parent = _order_like(order, "P-0")

    assert insert_with_parent(parent, [], "order") == []

    assert Order.objects.filter(pk=parent.pk).exists()


def test_an_expression_value_goes_through_bulk_create(order):
    statements._inserts.clear()
    insert_all(_events(order, 1))  # compiled for one row
    [event] = _events(order, 1)
    event.message = Concat(Value("writ"), Value("ten"))

    insert_all([event])

    assert OrderEvent.objects.get(pk=event.pk).message == "written"


def test_a_compiled_read_swaps_its_sentinels(order):
    statement = Statement.of(
        Order.objects.filter(pk=ID_SENTINEL).values("number"), "default"
    )

    assert statement.rows("default", swap={ID_SENTINEL: order.pk}) == [
        {"number": order.number}
    ]
    assert statement.rows("default", swap={ID_SENTINEL: order.pk + 1000}) == []


def test_a_compiled_update_sets_what_queryset_update_sets(order, user):
    record = IdempotencyKey.objects.create(
        user=user,
        key="u",
        key_digest="u" * 64,
        fingerprint="f" * 64,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    body = {"id": 7, "note": "یادداشت", "items": [{"price": "10.00"}]}
    later = timezone.now() + timedelta(hours=2)
    statement = Statement.updating(
        IdempotencyKey.objects.filter(pk=ID_SENTINEL),
        {
            "response_body": statements.TEXT_SENTINEL,
            "expires_at": statements.TIME_SENTINEL,
        },
        "default",
    )

    changed = statement.run(
        "default",
        swap={
            ID_SENTINEL: record.pk,
            statements.saved_as(
                IdempotencyKey, "response_body", statements.TEXT_SENTINEL, "default"
            ): statements.saved_as(IdempotencyKey, "response_body", body, "default"),
            statements.saved_as(
                IdempotencyKey, "expires_at", statements.TIME_SENTINEL, "default"
            ): statements.saved_as(IdempotencyKey, "expires_at", later, "default"),
        },
    )

    record.refresh_from_db()
    assert changed == 1
    assert record.response_body == body
    assert record.expires_at == later
