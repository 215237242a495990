"""The back office's roles, row by row of the role table, and its dashboard."""

import json
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.tests.factories import UserFactory
from catalog.tests.factories import (
    CodeBatchFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
)
from mithrapay.tests.backoffice import browser_for, pay, roles_ready, staff_in
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import SHIPPING_ADDRESS, VariantFactory, add_codes

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db):
    """One of everything the back office shows: a paid code order, a waiting
    shipment, a payment, a code batch, a revealable code."""
    roles_ready()
    customer = UserFactory()
    variant = VariantFactory(sku="CARD", price=Decimal("100.00"))
    add_codes(variant, 3)
    order = pay(
        order_services.order_create(
            user=customer, lines=[{"variant": variant.pk, "quantity": 1}]
        )
    )
    cable = PhysicalVariantFactory(sku="CABLE", stock=3, low_stock_threshold=5)
    shipment = pay(
        order_services.order_create(
            user=customer,
            lines=[{"variant": cable.pk, "quantity": 1}],
            shipping_address=SHIPPING_ADDRESS,
        )
    )
    from payments.models import Payment

    payment = Payment.objects.create(
        order=order,
        gateway="sandbox",
        amount=order.total,
        currency=order.currency,
        status="succeeded",
        authority="SBX-SHOP",
    )
    batch = CodeBatchFactory()
    return {
        "customer": customer,
        "order": order,
        "item": shipment.items.get(),
        "variant": cable,
        "product": cable.product,
        "payment": payment,
        "batch": batch,
        "code": DigitalCodeFactory(variant=batch.variant, batch=batch),
    }


def pages(shop) -> dict[str, str]:
    return {
        "users": reverse("admin:accounts_user_changelist"),
        "orders": reverse("admin:orders_order_changelist"),
        "order": reverse("admin:orders_order_change", args=[shop["order"].pk]),
        "note": reverse("admin:orders_order_note", args=[shop["order"].pk]),
        "resend": reverse("admin:orders_order_resend", args=[shop["order"].pk]),
        "queue": reverse("admin:orders_fulfilmentitem_changelist"),
        "fulfil": reverse("admin:orders_fulfilmentitem_fulfil", args=[shop["item"].pk]),
        "payments": reverse("admin:payments_payment_changelist"),
        "refund": reverse("admin:payments_payment_refund", args=[shop["payment"].pk]),
        "codes": reverse("admin:catalog_digitalcode_changelist"),
        "reveal": reverse("admin:catalog_digitalcode_reveal", args=[shop["code"].pk]),
        "reveals": reverse("admin:catalog_codereveal_changelist"),
        "variant": reverse("admin:catalog_variant_change", args=[shop["variant"].pk]),
        "product_add": reverse("admin:catalog_product_add"),
        "category_add": reverse("admin:catalog_category_add"),
        "import": reverse(
            "admin:catalog_variant_import_codes", args=[shop["batch"].variant.pk]
        ),
        "batches": reverse("admin:catalog_codebatch_changelist"),
        "posts": reverse("admin:blog_post_changelist"),
        "tags": reverse("admin:blog_tag_changelist"),
    }


ROLE_TABLE = {
    roles.SUPPORT: {
        "allowed": ["users", "orders", "order", "note", "resend", "queue", "fulfil"],
        "forbidden": ["refund", "reveal", "reveals", "product_add", "import", "posts"],
    },
    roles.CATALOG_MANAGER: {
        "allowed": ["codes", "variant", "product_add", "category_add", "import"],
        "forbidden": ["reveal", "refund", "orders", "payments", "users", "queue"],
    },
    roles.FINANCE: {
        "allowed": ["payments", "refund", "codes", "reveal", "reveals", "order"],
        "forbidden": ["variant", "product_add", "import", "batches", "queue", "note"],
    },
    roles.CONTENT_EDITOR: {
        "allowed": ["posts", "tags"],
        "forbidden": ["orders", "payments", "codes", "variant", "users", "reveal"],
    },
}


@pytest.mark.parametrize("role", list(ROLE_TABLE))
def test_each_role_opens_what_it_needs_and_is_refused_the_rest(shop, role):
    browser = browser_for(staff_in(role))
    urls = pages(shop)

    answers = {
        name: browser.get(urls[name]).status_code
        for name in ROLE_TABLE[role]["allowed"] + ROLE_TABLE[role]["forbidden"]
    }

    assert {name: answers[name] for name in ROLE_TABLE[role]["allowed"]} == {
        name: HTTPStatus.OK for name in ROLE_TABLE[role]["allowed"]
    }
    assert {name: answers[name] for name in ROLE_TABLE[role]["forbidden"]} == {
        name: HTTPStatus.FORBIDDEN for name in ROLE_TABLE[role]["forbidden"]
    }


def test_support_cannot_edit_a_price(shop):
    browser = browser_for(staff_in(roles.SUPPORT))
    variant = shop["variant"]

    response = browser.post(
        pages(shop)["variant"],
        {"product": variant.product_id, "sku": variant.sku, "price": "1.00"},
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    variant.refresh_from_db()
    assert variant.price != Decimal("1.00")


def test_finance_cannot_edit_the_catalog(shop):
    browser = browser_for(staff_in(roles.FINANCE))
    variant = shop["variant"]

    change = browser.post(
        pages(shop)["variant"],
        {"product": variant.product_id, "sku": variant.sku, "price": "1.00"},
    )
    void = browser.post(
        pages(shop)["codes"],
        {"action": "void_codes", "_selected_action": [shop["code"].pk]},
    )

    assert change.status_code == HTTPStatus.FORBIDDEN
    variant.refresh_from_db()
    assert variant.price != Decimal("1.00")
    assert void.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    shop["code"].refresh_from_db()
    assert shop["code"].status == "available"


def test_catalog_manager_cannot_act_on_orders(shop):
    browser = browser_for(staff_in(roles.CATALOG_MANAGER))
    order = shop["order"]

    answers = [
        browser.post(pages(shop)["note"], {"message": "hi"}).status_code,
        browser.post(pages(shop)["fulfil"], {"tracking_number": "X"}).status_code,
        browser.post(reverse("admin:orders_order_cancel", args=[order.pk])).status_code,
    ]

    assert answers == [HTTPStatus.FORBIDDEN] * 3
    assert not order.events.filter(kind="note").exists()
    shop["item"].refresh_from_db()
    assert shop["item"].status == "awaiting"


def test_support_sees_codes_masked_and_can_fulfil(shop):
    support = staff_in(roles.SUPPORT)
    browser = browser_for(support)

    codes = browser.get(pages(shop)["codes"])
    browser.post(pages(shop)["fulfil"], {"tracking_number": "IR-1"})

    assert codes.status_code == HTTPStatus.OK
    assert pages(shop)["reveal"] not in codes.content.decode()
    shop["item"].refresh_from_db()
    assert (shop["item"].status, shop["item"].fulfilled_by) == ("shipped", support)


def test_setup_roles_grants_the_back_office_permissions_idempotently(db):
    roles_ready()
    roles_ready()
    finance = staff_in(roles.FINANCE)
    support = staff_in(roles.SUPPORT)
    manager = staff_in(roles.CATALOG_MANAGER)

    assert finance.has_perm("catalog.reveal_code")
    assert finance.has_perm("payments.refund_payment")
    assert finance.has_perm("orders.view_sales")
    assert not finance.has_perm("catalog.change_variant")
    assert support.has_perm("orders.fulfil_item")
    assert support.has_perm("orders.resend_notification")
    assert not support.has_perm("payments.refund_payment")
    assert not support.has_perm("orders.view_sales")
    assert not manager.has_perm("orders.view_order")


# --- The dashboard -------------------------------------------------------------


def test_dashboard_shows_finance_the_sales_and_chart(shop):
    browser = browser_for(staff_in(roles.FINANCE))

    response = browser.get(reverse("admin:index"))

    html = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert 'id="dashboard-sales"' in html
    assert 'data-figure="today-total">' in html
    chart = json.loads(
        html.split('id="sales-chart-data" type="application/json">')[1].split(
            "</script>"
        )[0]
    )
    assert len(chart) == 30
    assert chart[-1]["count"] == 2
    assert "backoffice/vendor/chart.umd.min.js" in html
    assert 'id="dashboard-low-stock"' not in html
    assert 'id="dashboard-queue"' not in html


def test_dashboard_shows_support_the_queue_and_statuses_but_no_sales(shop):
    browser = browser_for(staff_in(roles.SUPPORT))
    long_ago = timezone.now() - timedelta(hours=3, minutes=5)
    Order.objects.filter(pk=shop["item"].order_id).update(paid_at=long_ago)

    html = browser.get(reverse("admin:index")).content.decode()

    assert 'data-figure="queue-length">1<' in html
    assert "3\xa0hours" in html
    assert 'data-status="fulfilled">1<' in html
    assert 'id="dashboard-sales"' not in html
    assert "sales-chart-data" not in html


def test_dashboard_shows_catalog_managers_the_low_stock(shop):
    browser = browser_for(staff_in(roles.CATALOG_MANAGER))

    html = browser.get(reverse("admin:index")).content.decode()

    assert 'data-low-stock="CABLE">2<' in html
    assert 'id="dashboard-sales"' not in html
    assert 'id="dashboard-statuses"' not in html


def test_dashboard_shows_content_editors_nothing_of_the_shop(shop):
    browser = browser_for(staff_in(roles.CONTENT_EDITOR))

    html = browser.get(reverse("admin:index")).content.decode()

    assert 'id="dashboard"' not in html
    assert "Blog" in html


def test_dashboard_costs_a_fixed_number_of_queries(
    shop, admin_client, django_assert_max_num_queries, settings
):
    settings.MAX_PENDING_ORDERS = 100
    variant = VariantFactory()
    add_codes(variant, 20)
    for _ in range(20):
        pay(
            order_services.order_create(
                user=shop["customer"], lines=[{"variant": variant.pk, "quantity": 1}]
            )
        )
    url = reverse("admin:index")

    with django_assert_max_num_queries(12):
        response = admin_client.get(url)

    html = response.content.decode()
    for part in ("sales", "queue", "statuses", "low-stock", "chart"):
        assert f'id="dashboard-{part}"' in html
    assert 'data-status="fulfilled">21<' in html


def test_the_chart_library_is_served_from_this_project():
    path = finders.find("backoffice/vendor/chart.umd.min.js")

    assert path is not None
    with open(path, encoding="utf-8") as script:
        head = script.read(200)
    assert "Chart.js v4" in head
    assert finders.find("backoffice/vendor/chart.js-LICENSE.md")
