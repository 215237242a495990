from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from catalog import inventory
from catalog.inventory import OutOfStock
from catalog.models import DigitalCode, Product, Variant
from mithrapay.errors import ApplicationError
from orders import services
from orders.models import ItemCode, Order, OrderEvent, OrderItem, Subscription
from orders.tests.factories import ProductFactory, VariantFactory, add_codes

pytestmark = pytest.mark.django_db


def line(variant, quantity=1, **inputs):
    return {"variant": variant.pk, "quantity": quantity, "inputs": inputs}


def held_codes(order):
    return list(
        ItemCode.objects.filter(item__order=order).values_list("code_id", flat=True)
    )


ADDRESS = {
    "name": "Sara",
    "phone": "+989121234567",
    "line1": "No. 5, Azadi St",
    "city": "Tehran",
    "postal_code": "1234567890",
    "country": "IR",
}


def test_create_reserves_codes_soonest_expiry_first_and_undated_last(user):
    variant = VariantFactory()
    undated = add_codes(variant, 2)
    late = add_codes(variant, 1, expires_at=date(2031, 1, 1))
    soon = add_codes(variant, 1, expires_at=date(2029, 1, 1))

    order = services.order_create(user=user, lines=[line(variant, 3)])

    held = set(held_codes(order))
    assert held == {soon[0].pk, late[0].pk, undated[0].pk}
    statuses = dict(DigitalCode.objects.values_list("id", "status"))
    assert {statuses[pk] for pk in held} == {"reserved"}
    assert statuses[undated[1].pk] == "available"


def test_create_never_reserves_a_code_past_its_printed_expiry(user):
    variant = VariantFactory()
    today = timezone.localdate()
    expired = add_codes(variant, 2, expires_at=today - timedelta(days=1))
    last_day = add_codes(variant, 1, expires_at=today)
    undated = add_codes(variant, 1)

    order = services.order_create(user=user, lines=[line(variant, 2)])

    assert set(held_codes(order)) == {last_day[0].pk, undated[0].pk}
    statuses = DigitalCode.objects.filter(pk__in=[c.pk for c in expired])
    assert set(statuses.values_list("status", flat=True)) == {"available"}


def test_expired_codes_do_not_count_as_available(user):
    variant = VariantFactory()
    add_codes(variant, 3, expires_at=timezone.localdate() - timedelta(days=1))

    with pytest.raises(OutOfStock):
        services.order_create(user=user, lines=[line(variant, 1)])

    assert not inventory.codes_available_exist(variant_id=variant.pk)
    assert inventory.variants_sold_out(variants=[variant]) == [variant.pk]


def test_create_computes_totals_from_catalog_prices(user):
    gift = VariantFactory(price=Decimal("100.50"))
    add_codes(gift, 3)
    manual = VariantFactory(
        price=Decimal("20.25"),
        fulfilment=Variant.Fulfilment.MANUAL,
        customer_fields=["account_email"],
    )

    order = services.order_create(
        user=user, lines=[line(gift, 3), line(manual, 2, account_email="A@Example.com")]
    )

    assert order.subtotal == order.total == Decimal("342.00")
    assert order.currency == "IRR"
    item = order.items.get(variant=manual)
    assert item.inputs == {"account_email": "A@Example.com"}
    assert (item.unit_price, item.line_total) == (Decimal("20.25"), Decimal("40.50"))
    assert item.product_name == manual.product.name
    assert order.number.startswith("MP-")
    assert order.expires_at > timezone.now() + timedelta(minutes=14)


def test_create_is_all_or_nothing_when_one_line_is_short(user):
    plenty = VariantFactory()
    add_codes(plenty, 5)
    scarce = VariantFactory()
    add_codes(scarce, 1)
    physical = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=3)

    with pytest.raises(OutOfStock) as caught:
        services.order_create(
            user=user,
            lines=[line(plenty, 2), line(physical, 1), line(scarce, 2)],
            shipping_address=ADDRESS,
        )

    assert caught.value.code == "out_of_stock"
    assert caught.value.variant_id == scarce.pk
    assert Order.objects.count() == 0
    assert DigitalCode.objects.filter(status="reserved").count() == 0
    physical.refresh_from_db()
    assert physical.stock == 3


def test_shipment_stock_is_decremented_and_never_below_zero(user):
    physical = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=2)

    services.order_create(
        user=user, lines=[line(physical, 2)], shipping_address=ADDRESS
    )
    with pytest.raises(OutOfStock):
        services.order_create(
            user=user, lines=[line(physical, 1)], shipping_address=ADDRESS
        )

    physical.refresh_from_db()
    assert physical.stock == 0


def test_manual_items_reserve_nothing(user):
    manual = VariantFactory(fulfilment=Variant.Fulfilment.MANUAL)

    order = services.order_create(user=user, lines=[line(manual, 1)])

    assert held_codes(order) == []
    assert order.items.get().status == OrderItem.Status.PENDING


@pytest.mark.parametrize(
    "change",
    [{"is_active": False}, {"product__is_active": False}],
    ids=["inactive variant", "inactive product"],
)
def test_create_refuses_what_is_not_for_sale(user, change):
    variant = VariantFactory(**{k: v for k, v in change.items() if "__" not in k})
    add_codes(variant, 2)
    if "product__is_active" in change:
        Product.objects.filter(pk=variant.product_id).update(is_active=False)

    with pytest.raises(ApplicationError) as caught:
        services.order_create(user=user, lines=[line(variant)])

    assert caught.value.code == "validation_error"
    assert "variant" in caught.value.fields["items"]["0"]
    assert Order.objects.count() == 0


def test_create_refuses_quantity_over_the_variant_limit(user):
    variant = VariantFactory(max_per_order=2)
    add_codes(variant, 5)

    with pytest.raises(ApplicationError) as caught:
        services.order_create(user=user, lines=[line(variant, 3)])

    assert "quantity" in caught.value.fields["items"]["0"]


def test_create_requires_and_validates_customer_inputs(user):
    manual = VariantFactory(
        fulfilment=Variant.Fulfilment.MANUAL, customer_fields=["account_email"]
    )

    with pytest.raises(ApplicationError) as missing:
        services.order_create(user=user, lines=[line(manual)])
    with pytest.raises(ApplicationError) as invalid:
        services.order_create(user=user, lines=[line(manual, account_email="nope")])
    with pytest.raises(ApplicationError) as unexpected:
        services.order_create(
            user=user, lines=[line(manual, account_email="a@b.co", shoe_size="42")]
        )

    assert "account_email" in missing.value.fields["items"]["0"]["inputs"]
    assert "account_email" in invalid.value.fields["items"]["0"]["inputs"]
    assert "shoe_size" in unexpected.value.fields["items"]["0"]["inputs"]
    assert Order.objects.count() == 0


def test_physical_items_need_a_shipping_address(user):
    physical = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=5)

    with pytest.raises(ApplicationError) as caught:
        services.order_create(user=user, lines=[line(physical)])

    assert "shipping_address" in caught.value.fields


def test_shipping_address_is_dropped_for_digital_only_orders(user, code_variant):
    order = services.order_create(
        user=user, lines=[line(code_variant)], shipping_address=ADDRESS
    )

    assert order.shipping_address is None


def test_unpaid_orders_per_customer_are_capped(user, code_variant, settings):
    settings.MAX_PENDING_ORDERS = 2
    services.order_create(user=user, lines=[line(code_variant)])
    services.order_create(user=user, lines=[line(code_variant)])

    with pytest.raises(services.TooManyPendingOrders):
        services.order_create(user=user, lines=[line(code_variant)])

    assert Order.objects.filter(user=user).count() == 2
    assert DigitalCode.objects.filter(status="reserved").count() == 2


def test_cancel_releases_codes_and_stock_and_records_it(user):
    code_variant = VariantFactory()
    add_codes(code_variant, 2)
    physical = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=4)
    order = services.order_create(
        user=user,
        lines=[line(code_variant, 2), line(physical, 3)],
        shipping_address=ADDRESS,
    )

    services.order_cancel(order=order, user=user)

    order.refresh_from_db()
    physical.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.cancelled_at is not None
    assert DigitalCode.objects.filter(status="available").count() == 2
    assert ItemCode.objects.count() == 0
    assert physical.stock == 4
    assert set(order.items.values_list("status", flat=True)) == {"released"}
    event = order.events.get(kind=OrderEvent.Kind.CANCELLED)
    assert (event.actor, event.user) == ("customer", user)


def test_cancel_twice_is_an_invalid_transition(user, code_variant):
    order = services.order_create(user=user, lines=[line(code_variant)])
    services.order_cancel(order=order, user=user)

    with pytest.raises(services.InvalidTransition) as caught:
        services.order_cancel(order=order, user=user)

    assert caught.value.code == "invalid_transition"
    assert DigitalCode.objects.filter(status="available").count() == 5


def test_transition_refuses_an_illegal_move(user, code_variant):
    order = services.order_create(user=user, lines=[line(code_variant)])
    order.status = Order.Status.CANCELLED
    order.save()

    with pytest.raises(services.InvalidTransition):
        services._transition(order, Order.Status.EXPIRED, actor="system")


def test_events_record_creation_and_reservation(user, code_variant):
    order = services.order_create(user=user, lines=[line(code_variant, 2)])

    kinds = list(order.events.values_list("kind", "actor"))
    assert kinds == [("reserved", "system"), ("created", "customer")]
    assert order.events.get(kind="reserved").data == {"codes": 2}


def test_expiry_releases_overdue_orders_only(user, code_variant):
    overdue = services.order_create(user=user, lines=[line(code_variant, 2)])
    fresh = services.order_create(user=user, lines=[line(code_variant, 1)])
    Order.objects.filter(pk=overdue.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    expired = services.orders_expire_overdue()

    assert expired == 1
    overdue.refresh_from_db()
    fresh.refresh_from_db()
    assert overdue.status == Order.Status.EXPIRED
    assert fresh.status == Order.Status.PENDING_PAYMENT
    assert DigitalCode.objects.filter(status="reserved").count() == 1
    assert overdue.events.filter(kind="expired", actor="system").count() == 1


def test_expiry_run_twice_expires_once(user, code_variant):
    order = services.order_create(user=user, lines=[line(code_variant)])
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    first = services.orders_expire_overdue(batch_size=1)
    second = services.orders_expire_overdue(batch_size=1)

    assert (first, second) == (1, 0)
    assert OrderEvent.objects.filter(order=order, kind="expired").count() == 1


def test_expire_orders_command(user, code_variant):
    order = services.order_create(user=user, lines=[line(code_variant)])
    Order.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    call_command("expire_orders", verbosity=0)

    order.refresh_from_db()
    assert order.status == Order.Status.EXPIRED


# Order creation: a fixed part (variants, customer lock, pending count, the
# reservation time, order, items, links, both events in one insert, the
# transaction's savepoint on SQLite) plus at most four per code line (two
# index-ordered locking reads, the update, the out-of-stock check).
FIXED_QUERIES = 10
QUERIES_PER_LINE = 4


@pytest.mark.parametrize("lines", [1, 5])
def test_order_creation_costs_a_fixed_number_of_queries_plus_a_few_per_line(
    user, django_assert_max_num_queries, lines
):
    from constance import config

    config.ORDER_RESERVATION_MINUTES  # noqa: B018 - the site setting's first read stores it
    variants = [VariantFactory() for _ in range(lines)]
    for variant in variants:
        add_codes(variant, 3)

    with django_assert_max_num_queries(FIXED_QUERIES + QUERIES_PER_LINE * lines):
        services.order_create(user=user, lines=[line(v) for v in variants])


def _subscription_item(user, *, account="me@example.com", days=30):
    product = ProductFactory(kind=Product.Kind.SUBSCRIPTION, brand="Netflix")
    variant = VariantFactory(
        product=product,
        name="Premium 1 month",
        fulfilment=Variant.Fulfilment.MANUAL,
        duration_days=days,
        customer_fields=["account_email"],
    )
    order = services.order_create(
        user=user, lines=[line(variant, account_email=account)]
    )
    return order.items.get()


def test_subscription_grant_starts_a_new_plan(user):
    item = _subscription_item(user)

    subscription = services.subscription_grant(item=item)

    assert (subscription.service, subscription.plan) == ("Netflix", "Premium 1 month")
    assert subscription.account == "me@example.com"
    assert subscription.ends_at - subscription.starts_at == timedelta(days=30)


def test_buying_the_same_plan_again_extends_from_the_current_end(user):
    item = _subscription_item(user)
    first = services.subscription_grant(item=item)
    first_end = first.ends_at
    again = OrderItem.objects.get(pk=item.pk)

    extended = services.subscription_grant(item=again)

    assert extended.pk == first.pk
    assert extended.ends_at == first_end + timedelta(days=30)
    assert Subscription.objects.count() == 1


def test_a_plan_for_another_account_is_a_separate_subscription(user):
    item = _subscription_item(user)
    services.subscription_grant(item=item)
    other = services.order_create(
        user=user, lines=[line(item.variant, account_email="sister@example.com")]
    ).items.get()

    services.subscription_grant(item=other)

    assert Subscription.objects.filter(user=user).count() == 2


def test_a_lapsed_plan_restarts_from_now(user):
    item = _subscription_item(user)
    old = services.subscription_grant(item=item)
    Subscription.objects.filter(pk=old.pk).update(
        starts_at=timezone.now() - timedelta(days=60),
        ends_at=timezone.now() - timedelta(days=30),
    )

    renewed = services.subscription_grant(item=OrderItem.objects.get(pk=item.pk))

    assert renewed.pk != old.pk
    assert renewed.starts_at > timezone.now() - timedelta(minutes=1)


def test_a_clashing_order_number_is_drawn_again(user, code_variant, monkeypatch):
    first = services.order_create(user=user, lines=[line(code_variant)])
    numbers = iter([first.number, "MP-NEWNUMBR"])
    monkeypatch.setattr(services, "_new_number", lambda: next(numbers))

    second = services.order_create(user=user, lines=[line(code_variant)])

    assert second.number == "MP-NEWNUMBR"
    assert DigitalCode.objects.filter(status="reserved").count() == 2
    assert ItemCode.objects.filter(item__order=second).count() == 1


# --- Paying -----------------------------------------------------------------


def pay(order, payment_id=1) -> str:
    """What the payments service does with a verified payment."""
    with transaction.atomic():
        locked = services.order_lock(order_id=order.pk)
        return services.order_pay(order=locked, payment_id=payment_id)


def test_partial_fulfilment_records_when_it_happened(user):
    codes = VariantFactory()
    add_codes(codes, 1)
    manual = VariantFactory(fulfilment=Variant.Fulfilment.MANUAL)
    order = services.order_create(user=user, lines=[line(codes), line(manual)])
    started = timezone.now()

    pay(order)

    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_FULFILLED
    assert order.partially_fulfilled_at is not None
    assert order.partially_fulfilled_at >= started


def test_a_voided_reserved_code_is_replaced_before_the_sale(user):
    variant = VariantFactory()
    add_codes(variant, 3)
    order = services.order_create(user=user, lines=[line(variant, 2)])
    leaked, kept = held_codes(order)
    DigitalCode.objects.filter(pk=leaked).update(status=DigitalCode.Status.VOID)

    outcome = pay(order)

    order.refresh_from_db()
    assert outcome == "paid"
    assert order.status == Order.Status.FULFILLED
    delivered = held_codes(order)
    assert leaked not in delivered
    assert kept in delivered
    assert len(delivered) == 2
    statuses = dict(DigitalCode.objects.values_list("id", "status"))
    assert {statuses[pk] for pk in delivered} == {"sold"}
    assert statuses[leaked] == "void"
    assert OrderEvent.objects.filter(
        order=order, kind="reserved", data__replaced=1
    ).exists()


def test_a_voided_reserved_code_with_no_replacement_cancels_the_paid_order(user):
    variant = VariantFactory()
    add_codes(variant, 2)
    order = services.order_create(user=user, lines=[line(variant, 2)])
    leaked, kept = held_codes(order)
    DigitalCode.objects.filter(pk=leaked).update(status=DigitalCode.Status.VOID)

    outcome = pay(order)

    order.refresh_from_db()
    assert outcome == "unavailable"
    assert order.status == Order.Status.CANCELLED
    assert held_codes(order) == []
    statuses = dict(DigitalCode.objects.values_list("id", "status"))
    assert statuses == {leaked: "void", kept: "available"}
    assert not DigitalCode.objects.filter(status="sold").exists()
