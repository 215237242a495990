import html
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts import roles
from accounts.tests.factories import UserFactory
from catalog.models import DigitalCode
from mithrapay.tests.backoffice import browser_for, roles_ready, staff_in
from orders import services as order_services
from orders.models import ItemCode, Order, OrderEvent, OrderItem
from orders.tests.factories import VariantFactory, add_codes
from payments import services
from payments.models import Payment, SandboxTransaction
from payments.tests.helpers import pay_at_sandbox, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(db):
    roles_ready()
    return staff_in(roles.FINANCE)


@pytest.fixture
def finance_browser(finance):
    return browser_for(finance)


def paid_payment(user=None, quantity=2) -> Payment:
    user = user or UserFactory()
    variant = VariantFactory()
    add_codes(variant, quantity)
    order = order_services.order_create(
        user=user, lines=[{"variant": variant.pk, "quantity": quantity}]
    )
    payment, _ = start(order, user)
    services.payment_callback(
        gateway_name="sandbox", data=pay_at_sandbox(payment, pay=True)
    )
    payment.refresh_from_db()
    return payment


def refund_url(payment) -> str:
    return reverse("admin:payments_payment_refund", args=[payment.pk])


def test_finance_refunds_from_the_admin_through_the_payments_service(
    finance, finance_browser
):
    payment = paid_payment()
    code_ids = list(
        ItemCode.objects.filter(item__order=payment.order).values_list(
            "code_id", flat=True
        )
    )

    form = finance_browser.get(refund_url(payment))
    response = finance_browser.post(
        refund_url(payment), {"reason": "Wrong region bought", "restock_codes": "on"}
    )

    assert form.status_code == HTTPStatus.OK
    assert response.status_code == HTTPStatus.FOUND
    payment.refresh_from_db()
    assert (payment.status, payment.refund_reason) == (
        "refunded",
        "Wrong region bought",
    )
    assert payment.exchanges[-1]["step"] == "refund"
    order = Order.objects.get(pk=payment.order_id)
    assert order.status == Order.Status.REFUNDED
    event = order.events.get(kind=OrderEvent.Kind.REFUNDED)
    assert (event.user, event.message) == (finance, "Wrong region bought")
    assert event.data["restocked_codes"] == 2
    assert set(
        DigitalCode.objects.filter(id__in=code_ids).values_list("status", flat=True)
    ) == {"available"}
    sandbox = SandboxTransaction.objects.get(authority=payment.authority)
    assert sandbox.status == SandboxTransaction.Status.REFUNDED


def test_a_refund_after_the_customer_saw_a_code_asks_for_confirmation(
    finance_browser,
):
    payment = paid_payment()
    order_services.order_codes_mark_revealed(order=payment.order)

    first = finance_browser.post(refund_url(payment), {"reason": "Dispute"})
    unchanged = Payment.objects.get(pk=payment.pk).status
    second = finance_browser.post(
        refund_url(payment), {"reason": "Dispute", "confirm_revealed": "on"}
    )

    assert first.status_code == HTTPStatus.OK
    assert first.context["form"].errors["confirm_revealed"]
    assert unchanged == "succeeded"
    assert second.status_code == HTTPStatus.FOUND
    assert Payment.objects.get(pk=payment.pk).status == "refunded"


def test_a_refund_without_a_reason_changes_nothing(finance_browser):
    payment = paid_payment()

    response = finance_browser.post(refund_url(payment), {"reason": ""})

    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["reason"]
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


def test_refunding_twice_is_refused_without_a_500(finance_browser):
    payment = paid_payment()
    finance_browser.post(refund_url(payment), {"reason": "Once"})

    response = finance_browser.post(refund_url(payment), {"reason": "Twice"})

    assert response.status_code == HTTPStatus.OK
    assert Payment.objects.get(pk=payment.pk).refund_reason == "Once"


@pytest.mark.parametrize("role", [roles.SUPPORT, roles.CATALOG_MANAGER, None])
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_the_refund_permission_get_403_on_any_method(role, method):
    roles_ready()
    browser = browser_for(staff_in(role))
    payment = paid_payment()

    response = getattr(browser, method)(refund_url(payment), {"reason": "try"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


def test_payment_page_shows_the_gateway_exchanges_and_a_refund_link_to_finance(
    finance_browser,
):
    roles_ready()
    support_browser = browser_for(staff_in(roles.SUPPORT))
    payment = paid_payment()
    url = reverse("admin:payments_payment_change", args=[payment.pk])

    for_finance = finance_browser.get(url).content.decode()
    for_support = support_browser.get(url).content.decode()

    assert payment.authority in for_finance
    assert '"step": "verify"' in html.unescape(for_finance)
    assert refund_url(payment) in for_finance
    assert refund_url(payment) not in for_support


def test_order_page_lists_payments_and_offers_finance_the_refund(finance_browser):
    payment = paid_payment()

    page = finance_browser.get(
        reverse("admin:orders_order_change", args=[payment.order_id])
    ).content.decode()

    assert payment.reference_id in page
    assert refund_url(payment) in page


def test_order_list_shows_payment_state_and_finds_orders_by_gateway_reference(
    finance_browser,
):
    payment = paid_payment()
    other = paid_payment()
    url = reverse("admin:orders_order_changelist")

    listing = finance_browser.get(url)
    found = finance_browser.get(url, {"q": payment.reference_id})
    by_gateway = finance_browser.get(url, {"gateway": "zarinpal"})

    assert "succeeded (sandbox)" in listing.content.decode()
    assert [o.pk for o in found.context["cl"].result_list] == [payment.order_id]
    assert other.order_id not in [o.pk for o in found.context["cl"].result_list]
    assert list(by_gateway.context["cl"].result_list) == []


def test_payment_and_order_changelists_of_fifty_rows_have_no_query_per_row(
    admin_client, django_assert_max_num_queries, settings
):
    settings.MAX_PENDING_ORDERS = 100
    for _ in range(50):
        paid_payment(quantity=1)

    for name in ("payments_payment", "orders_order"):
        with django_assert_max_num_queries(14):
            response = admin_client.get(reverse(f"admin:{name}_changelist"))
        assert len(response.context["cl"].result_list) == 50


def test_seed_demo_sales_fills_the_back_office_through_the_services_once():
    call_command("seed_demo", verbosity=0)

    call_command("seed_demo_sales", verbosity=0)
    counts = (Order.objects.count(), Payment.objects.count())
    call_command("seed_demo_sales", verbosity=0)

    assert (Order.objects.count(), Payment.objects.count()) == counts
    assert Payment.objects.filter(status="succeeded").count() == 13
    assert Order.objects.filter(status="pending_payment").count() == 2
    waiting = OrderItem.objects.filter(status=OrderItem.Status.AWAITING)
    assert sorted(waiting.values_list("sku", flat=True)) == [
        "CABLE-USBC-1M",
        "CABLE-USBC-1M",
        "SPOTIFY-12M",
        "SPOTIFY-12M",
    ]
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.PAID).count() == 13
    # The nine paid code orders hold twelve codes between them.
    assert DigitalCode.objects.filter(status="sold").count() == 12


def test_refunding_a_duplicate_attempt_from_the_admin_leaves_an_order_event(
    finance, finance_browser
):
    user = UserFactory()
    variant = VariantFactory()
    add_codes(variant, 1)
    order = order_services.order_create(
        user=user, lines=[{"variant": variant.pk, "quantity": 1}]
    )
    first, _ = start(order, user)
    second, _ = start(order, user)
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(first))
    services.payment_callback(gateway_name="sandbox", data=pay_at_sandbox(second))

    response = finance_browser.post(refund_url(second), {"reason": "Charged twice"})

    assert response.status_code == HTTPStatus.FOUND
    assert Payment.objects.get(pk=second.pk).status == "refunded"
    assert Payment.objects.get(pk=first.pk).status == "succeeded"
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    event = order.events.get(kind=OrderEvent.Kind.PAYMENT, data__refunded=True)
    assert event.data == {"payment": second.pk, "refunded": True, "staff": finance.pk}
    assert "Charged twice" in event.message
