from http import HTTPStatus

import pytest

from accounts.tests.factories import UserFactory
from orders import services
from orders.tests.factories import VariantFactory, add_codes

pytestmark = pytest.mark.django_db


def test_order_changelist_of_fifty_orders_has_no_query_per_row(
    admin_client, django_assert_max_num_queries, settings
):
    settings.MAX_PENDING_ORDERS = 100
    variant = VariantFactory()
    add_codes(variant, 50)
    for _ in range(50):
        services.order_create(
            user=UserFactory(), lines=[{"variant": variant.pk, "quantity": 1}]
        )

    with django_assert_max_num_queries(12):
        response = admin_client.get("/admin/orders/order/")

    assert response.status_code == HTTPStatus.OK
    assert response.content.decode().count("MP-") >= 50


def test_order_page_shows_items_and_history(admin_client, user, code_variant):
    order = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )

    response = admin_client.get(f"/admin/orders/order/{order.pk}/change/")

    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert code_variant.sku in page
    assert "reserved" in page
