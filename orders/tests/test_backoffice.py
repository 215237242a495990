from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib import messages
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.tests.factories import UserFactory
from catalog.models import Variant
from mithrapay.tests.backoffice import browser_for, pay, roles_ready, staff_in
from orders import selectors, services
from orders.models import Order, OrderEvent, OrderItem, Subscription
from orders.tests.factories import VariantFactory, add_codes

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Sara",
    "phone": "+989121234567",
    "line1": "No. 5, Azadi St",
    "city": "Tehran",
    "postal_code": "1234567890",
    "country": "IR",
}


@pytest.fixture
def support(db):
    roles_ready()
    return staff_in(roles.SUPPORT)


@pytest.fixture
def support_browser(support):
    return browser_for(support)


def manual_variant(**fields):
    return VariantFactory(
        fulfilment=Variant.Fulfilment.MANUAL,
        customer_fields=["account_email"],
        duration_days=30,
        product__kind="subscription",
        product__brand="Spotify",
        **fields,
    )


def shipped_variant():
    return VariantFactory(
        fulfilment=Variant.Fulfilment.SHIPMENT, stock=20, product__kind="physical"
    )


def manual_order(user=None, **inputs):
    variant = manual_variant()
    order = services.order_create(
        user=user or UserFactory(),
        lines=[
            {
                "variant": variant.pk,
                "quantity": 1,
                "inputs": inputs or {"account_email": "me@example.com"},
            }
        ],
    )
    return pay(order)


def shipped_order(user=None):
    order = services.order_create(
        user=user or UserFactory(),
        lines=[{"variant": shipped_variant().pk, "quantity": 1}],
        shipping_address=ADDRESS,
    )
    return pay(order)


def code_order(user=None, quantity=1):
    variant = VariantFactory()
    add_codes(variant, quantity)
    return services.order_create(
        user=user or UserFactory(),
        lines=[{"variant": variant.pk, "quantity": quantity}],
    )


# --- The fulfilment queue --------------------------------------------------------


def test_queue_lists_waiting_manual_and_shipment_items_oldest_first(support_browser):
    newer = manual_order()
    older = shipped_order()
    Order.objects.filter(pk=older.pk).update(
        paid_at=timezone.now() - timedelta(hours=5)
    )
    done = pay(code_order())

    response = support_browser.get(reverse("admin:orders_fulfilmentitem_changelist"))

    assert response.status_code == HTTPStatus.OK
    listed = [item.order_id for item in response.context["cl"].result_list]
    assert listed == [older.pk, newer.pk]
    assert done.pk not in listed
    assert "5\xa0hours" in response.content.decode()


def test_fulfilling_a_manual_item_from_the_queue_records_it_and_moves_the_order_on(
    support, support_browser, django_capture_on_commit_callbacks
):
    order = manual_order(account_email="fan@example.com")
    item = order.items.get()
    url = reverse("admin:orders_fulfilmentitem_fulfil", args=[item.pk])

    page = support_browser.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        response = support_browser.post(
            url, {"details": "Family plan on fan@example.com", "reference": "SP-77"}
        )

    assert page.status_code == HTTPStatus.OK
    assert "fan@example.com" in page.content.decode()
    assert response.status_code == HTTPStatus.FOUND
    item.refresh_from_db()
    order.refresh_from_db()
    assert item.status == OrderItem.Status.DONE
    assert item.fulfilled_by == support
    assert item.fulfilment_details == {
        "details": "Family plan on fan@example.com",
        "reference": "SP-77",
    }
    assert order.status == Order.Status.FULFILLED
    event = order.events.get(kind=OrderEvent.Kind.ITEM_FULFILLED)
    assert (event.actor, event.user) == ("staff", support)
    assert order.events.filter(kind=OrderEvent.Kind.FULFILLED).exists()
    assert Subscription.objects.filter(user=order.user, account="fan@example.com")
    assert [m.to for m in mail.outbox] == [[order.user.email]]


def test_marking_an_item_shipped_from_the_queue_records_the_tracking_number(
    support, support_browser
):
    order = shipped_order()
    item = order.items.get()

    support_browser.post(
        reverse("admin:orders_fulfilmentitem_fulfil", args=[item.pk]),
        {"tracking_number": " IR123456789 "},
    )

    item.refresh_from_db()
    order.refresh_from_db()
    assert (item.status, item.tracking_number) == ("shipped", "IR123456789")
    assert order.status == Order.Status.FULFILLED
    event = order.events.get(kind=OrderEvent.Kind.ITEM_SHIPPED)
    assert event.data["tracking_number"] == "IR123456789"


def test_the_fulfil_form_refuses_empty_details_and_changes_nothing(support_browser):
    order = manual_order()
    item = order.items.get()

    response = support_browser.post(
        reverse("admin:orders_fulfilmentitem_fulfil", args=[item.pk]), {"details": " "}
    )

    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["details"]
    item.refresh_from_db()
    assert item.status == OrderItem.Status.AWAITING


def test_fulfilling_an_item_twice_reports_it_is_no_longer_waiting(support_browser):
    order = shipped_order()
    item = order.items.get()
    url = reverse("admin:orders_fulfilmentitem_fulfil", args=[item.pk])
    support_browser.post(url, {"tracking_number": "A1"})

    response = support_browser.post(url, {"tracking_number": "B2"}, follow=True)

    item.refresh_from_db()
    assert item.tracking_number == "A1"
    levels = [m.level for m in response.context["messages"]]
    assert levels[-1] == messages.ERROR
    assert order.events.filter(kind=OrderEvent.Kind.ITEM_SHIPPED).count() == 1


def test_queue_of_fifty_items_has_no_query_per_row(
    support_browser, django_assert_max_num_queries
):
    for _ in range(50):
        manual_order()
    url = reverse("admin:orders_fulfilmentitem_changelist")

    with django_assert_max_num_queries(12):
        response = support_browser.get(url)

    assert len(response.context["cl"].result_list) == 50


# --- Order actions -----------------------------------------------------------------


def test_staff_cancel_releases_the_order_through_the_service(support, support_browser):
    order = code_order(quantity=2)
    url = reverse("admin:orders_order_cancel", args=[order.pk])

    confirm = support_browser.get(url)
    support_browser.post(url)

    order.refresh_from_db()
    assert confirm.status_code == HTTPStatus.OK
    assert order.status == Order.Status.CANCELLED
    event = order.events.get(kind=OrderEvent.Kind.CANCELLED)
    assert (event.actor, event.user) == ("staff", support)
    assert not order.items.filter(codes__isnull=False).exists()


def test_cancelling_a_paid_order_is_refused_and_changes_nothing(support_browser):
    order = pay(code_order())

    response = support_browser.post(
        reverse("admin:orders_order_cancel", args=[order.pk]), follow=True
    )

    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert [m.level for m in response.context["messages"]] == [messages.ERROR]


def test_a_note_is_kept_in_the_order_history(support, support_browser):
    order = code_order()
    url = reverse("admin:orders_order_note", args=[order.pk])

    empty = support_browser.post(url, {"message": "  "})
    support_browser.post(url, {"message": "Customer called about delivery."})

    assert empty.status_code == HTTPStatus.OK
    note = order.events.get(kind=OrderEvent.Kind.NOTE)
    assert (note.message, note.user, note.actor) == (
        "Customer called about delivery.",
        support,
        "staff",
    )


def test_resending_a_notification_queues_it_again_and_leaves_an_event(
    support, support_browser, django_capture_on_commit_callbacks
):
    order = shipped_order()
    item = order.items.get()
    services.item_mark_shipped(item=item, staff=support, tracking_number="TRK-1")
    mail.outbox.clear()
    url = reverse("admin:orders_order_resend", args=[order.pk])

    page = support_browser.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        support_browser.post(url, {"notification": f"item_shipped:{item.pk}"})

    choices = [
        value for value, _ in page.context["form"].fields["notification"].choices
    ]
    assert choices == ["order_paid", f"item_shipped:{item.pk}"]
    assert len(mail.outbox) == 1
    assert "TRK-1" in mail.outbox[0].body
    event = order.events.get(kind=OrderEvent.Kind.NOTIFICATION_RESENT)
    assert event.data == {"notification": "item_shipped", "item": item.pk}
    assert event.user == support


def test_a_notification_that_does_not_fit_the_order_is_refused(support):
    order = code_order()

    with pytest.raises(services.NotificationNotApplicable):
        services.order_resend_notification(
            order=order, user=support, notification="order_paid"
        )

    assert not order.events.filter(kind=OrderEvent.Kind.NOTIFICATION_RESENT).exists()


def test_the_resend_form_refuses_a_choice_that_is_not_offered(support_browser):
    order = code_order()

    response = support_browser.post(
        reverse("admin:orders_order_resend", args=[order.pk]),
        {"notification": "refund"},
    )

    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["notification"]
    assert not order.events.filter(kind=OrderEvent.Kind.NOTIFICATION_RESENT).exists()


# --- The order screens ---------------------------------------------------------------


def test_order_page_shows_items_history_and_the_customers_other_orders(
    support_browser,
):
    customer = UserFactory()
    order = manual_order(user=customer)
    other = code_order(user=customer)
    stranger = code_order()

    response = support_browser.get(
        reverse("admin:orders_order_change", args=[order.pk])
    )

    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert order.items.get().sku in page
    assert "paid" in page
    assert other.number in page
    assert stranger.number not in page


def test_order_list_filters_by_kind_of_item_and_searches_by_phone(support_browser):
    customer = UserFactory(phone="+989121110000")
    physical = shipped_order(user=customer)
    digital = code_order()
    url = reverse("admin:orders_order_changelist")

    by_kind = support_browser.get(url, {"item_kind": "physical"})
    by_phone = support_browser.get(url, {"q": "+989121110000"})
    by_number = support_browser.get(url, {"q": digital.number})

    def numbers(response):
        return {order.number for order in response.context["cl"].result_list}

    assert numbers(by_kind) == {physical.number}
    assert numbers(by_phone) == {physical.number}
    assert numbers(by_number) == {digital.number}


# --- Dashboard selectors -------------------------------------------------------------


def _paid_at(order, moment):
    Order.objects.filter(pk=order.pk).update(paid_at=moment)


def test_sales_count_paid_orders_by_the_shops_day_and_month(settings):
    settings.TIME_ZONE = "Asia/Tehran"
    timezone.activate("Asia/Tehran")
    # 2026-03-10 00:30 in Tehran (+03:30) is still 2026-03-09 in UTC.
    now = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)
    today = pay(code_order())
    _paid_at(today, now)
    this_month = pay(code_order())
    _paid_at(this_month, datetime(2026, 3, 1, 1, 0, tzinfo=UTC))
    yesterday = pay(code_order())
    _paid_at(yesterday, datetime(2026, 3, 9, 20, 0, tzinfo=UTC))
    last_month = pay(code_order())
    _paid_at(last_month, datetime(2026, 2, 28, 20, 0, tzinfo=UTC))
    refunded = pay(code_order())
    Order.objects.filter(pk=refunded.pk).update(paid_at=now, status="refunded")
    price = today.total

    summary = selectors.sales_summary(now=now)

    assert (summary.today.count, summary.today.total) == (1, price)
    assert (summary.month.count, summary.month.total) == (3, price * 3)


def test_daily_sales_fill_every_day_in_one_query(django_assert_num_queries, settings):
    settings.TIME_ZONE = "Asia/Tehran"
    timezone.activate("Asia/Tehran")
    now = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)
    for moment in (now, now - timedelta(minutes=5), now - timedelta(days=3)):
        _paid_at(pay(code_order()), moment)
    price = Order.objects.first().total

    with django_assert_num_queries(1):
        series = selectors.daily_sales(days=30, now=now)

    assert len(series) == 30
    assert series[-1]["day"].isoformat() == "2026-03-10"
    assert (series[-1]["count"], series[-1]["total"]) == (2, price * 2)
    assert (series[-4]["count"], series[-4]["total"]) == (1, price)
    assert sum(row["count"] for row in series) == 3
    assert series[0]["total"] == Decimal("0.00")


def test_queue_summary_counts_waiting_items_and_the_oldest_wait():
    first = manual_order()
    manual_order()
    pay(code_order())
    long_ago = timezone.now() - timedelta(days=2)
    _paid_at(first, long_ago)

    summary = selectors.fulfilment_queue_summary()

    assert summary.length == 2
    assert summary.oldest_paid_at == long_ago
    assert summary.oldest_age() >= timedelta(days=2)


def test_orders_by_status_names_every_status():
    code_order()
    code_order()
    pay(code_order())

    counts = selectors.orders_by_status()

    assert counts["pending_payment"] == 2
    assert counts["fulfilled"] == 1
    assert counts["refunded"] == 0
    assert list(counts) == list(Order.Status.values)
