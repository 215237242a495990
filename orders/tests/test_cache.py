"""Orders and the cached catalog: a checkout or a release makes cached
catalog pages stale only when a variant's ``in_stock`` flips."""

import pytest

from catalog.models import Variant
from catalog.selectors import catalog_version
from orders import services
from orders.tests.factories import SHIPPING_ADDRESS, VariantFactory, add_codes

pytestmark = pytest.mark.django_db


def listed_in_stock(client, variant) -> bool:
    """``in_stock`` of ``variant`` as the (cached) product list shows it."""
    for product in client.get("/products/?page_size=50").json()["results"]:
        for listed in product["variants"]:
            if listed["id"] == variant.pk:
                return listed["in_stock"]
    raise AssertionError(f"variant {variant.pk} is not listed")


def buy(user, variant, quantity=1):
    return services.order_create(
        user=user,
        lines=[{"variant": variant.pk, "quantity": quantity}],
        shipping_address=SHIPPING_ADDRESS,
    )


def test_an_order_taking_the_last_code_flips_in_stock_in_the_cached_list(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    add_codes(variant, 2)
    before = listed_in_stock(api_client, variant)

    with django_capture_on_commit_callbacks(execute=True):
        buy(user, variant, 2)

    assert (before, listed_in_stock(api_client, variant)) == (True, False)


def test_an_order_leaving_codes_available_keeps_the_cached_list(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    add_codes(variant, 3)
    listed_in_stock(api_client, variant)
    version = catalog_version()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        buy(user, variant, 2)

    assert callbacks, "the sold-out check runs after the commit"
    assert catalog_version() == version


def test_an_order_taking_the_last_unit_flips_in_stock_in_the_cached_list(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=2)
    before = listed_in_stock(api_client, variant)

    with django_capture_on_commit_callbacks(execute=True):
        buy(user, variant, 2)

    assert (before, listed_in_stock(api_client, variant)) == (True, False)


def test_an_order_leaving_stock_keeps_the_cached_list(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=3)
    listed_in_stock(api_client, variant)
    version = catalog_version()

    with django_capture_on_commit_callbacks(execute=True):
        buy(user, variant, 2)

    assert catalog_version() == version


def test_cancelling_the_order_that_emptied_a_pool_flips_in_stock_back(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    add_codes(variant, 2)
    with django_capture_on_commit_callbacks(execute=True):
        order = buy(user, variant, 2)
    before = listed_in_stock(api_client, variant)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order, user=user)

    assert (before, listed_in_stock(api_client, variant)) == (False, True)


def test_cancelling_while_codes_remain_keeps_the_cached_list(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    add_codes(variant, 3)
    order = buy(user, variant, 2)
    listed_in_stock(api_client, variant)
    version = catalog_version()

    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order, user=user)

    assert catalog_version() == version


def test_expiring_abandoned_checkouts_keeps_the_cached_list(
    api_client, user, django_capture_on_commit_callbacks
):
    codes = VariantFactory()
    add_codes(codes, 3)
    units = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=3)
    order = services.order_create(
        user=user,
        lines=[
            {"variant": codes.pk, "quantity": 1},
            {"variant": units.pk, "quantity": 1},
        ],
        shipping_address=SHIPPING_ADDRESS,
    )
    listed_in_stock(api_client, codes)
    version = catalog_version()

    with django_capture_on_commit_callbacks(execute=True):
        expired = services.orders_expire_overdue(now=order.expires_at)

    assert expired == 1
    assert catalog_version() == version


def test_cancelling_the_order_that_took_the_last_unit_flips_in_stock_back(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=1)
    with django_capture_on_commit_callbacks(execute=True):
        order = buy(user, variant)
    before = listed_in_stock(api_client, variant)

    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order, user=user)

    assert (before, listed_in_stock(api_client, variant)) == (False, True)


def test_cancelling_while_units_remain_keeps_the_cached_list(
    api_client, user, django_capture_on_commit_callbacks
):
    variant = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=2)
    order = buy(user, variant)
    listed_in_stock(api_client, variant)
    version = catalog_version()

    with django_capture_on_commit_callbacks(execute=True):
        services.order_cancel(order=order, user=user)

    assert catalog_version() == version
