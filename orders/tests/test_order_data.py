"""``order_data``: the order answers built as dicts, byte for byte what
``OrderSerializer`` (which documents them) gives."""

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from catalog.tests.factories import PhysicalVariantFactory, SubscriptionVariantFactory
from mithrapay.tests.backoffice import pay
from orders import selectors, services
from orders.models import Order
from orders.serializers import OrderSerializer, order_data
from orders.tests.factories import SHIPPING_ADDRESS, VariantFactory, add_codes

pytestmark = pytest.mark.django_db

TIME_ZONES = ["UTC", "Asia/Tehran", "America/St_Johns"]


def rendered(data) -> bytes:
    return JSONRenderer().render(data)


def same_answer(order, *, codes=None):
    context = {"codes": codes} if codes is not None else {}
    expected = OrderSerializer(order, context=context).data
    built = order_data(order, codes=codes)
    assert built == expected
    assert rendered(built) == rendered(expected)
    return built


@pytest.fixture
def mixed_order(user):
    """Codes, a subscription with inputs, and a shipped item, in one order."""
    card = VariantFactory(price="1250.50")
    add_codes(card, 3, expires_at=timezone.localdate() + timezone.timedelta(days=40))
    plan = SubscriptionVariantFactory(price="99000.00")
    cable = PhysicalVariantFactory(stock=5, price="7.05")
    return services.order_create(
        user=user,
        lines=[
            {"variant": card.pk, "quantity": 2},
            {
                "variant": plan.pk,
                "quantity": 1,
                "inputs": {"account_email": "me@example.com"},
            },
            {"variant": cable.pk, "quantity": 3},
        ],
        shipping_address=SHIPPING_ADDRESS,
        note="Leave at the door — درب",
    )


@pytest.mark.parametrize("zone", TIME_ZONES)
def test_a_new_order_as_order_create_returns_it(mixed_order, zone):
    with timezone.override(zone):
        built = same_answer(mixed_order)

    assert [item["quantity"] for item in built["items"]] == [2, 1, 3]
    assert built["shipping_address"] == SHIPPING_ADDRESS


def test_a_new_order_answers_without_reading_its_items_again(
    mixed_order, django_assert_num_queries
):
    with django_assert_num_queries(0):
        order_data(mixed_order)


@pytest.mark.parametrize("zone", TIME_ZONES)
def test_a_paid_order_read_back_with_its_codes(mixed_order, user, zone):
    pay(mixed_order)
    order = selectors.order_get(user=user, ref=str(mixed_order.pk))
    codes = selectors.order_codes(order=order)
    assert codes  # the card's two codes

    with timezone.override(zone):
        built = same_answer(order, codes=codes)

    assert built["paid_at"] is not None
    assert sum(len(item["codes"]) for item in built["items"]) == 2


def test_a_shipped_item_and_a_cancelled_order(user, staff_user):
    cable = PhysicalVariantFactory(stock=5)
    shipped = services.order_create(
        user=user,
        lines=[{"variant": cable.pk, "quantity": 1}],
        shipping_address=SHIPPING_ADDRESS,
    )
    pay(shipped)
    services.item_mark_shipped(
        item=shipped.items.get(), staff=staff_user, tracking_number="TRK-1"
    )
    cancelled = services.order_cancel(
        order=services.order_create(
            user=user,
            lines=[{"variant": cable.pk, "quantity": 1}],
            shipping_address=SHIPPING_ADDRESS,
        ),
        user=user,
    )

    for order in Order.objects.filter(user=user).prefetch_related("items"):
        with timezone.override("Asia/Tehran"):
            same_answer(order)
    same_answer(cancelled)
    assert order_data(shipped)["items"][0]["tracking_number"] == "TRK-1"
