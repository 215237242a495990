from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.cache import cache

from catalog import services
from catalog.models import DigitalCode, Product, Variant
from catalog.selectors import CATALOG_VERSION_KEY
from catalog.tests.factories import (
    DigitalCodeFactory,
    PhysicalVariantFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def _in_stock(client, slug) -> bool:
    return client.get(f"/products/{slug}").json()["variants"][0]["in_stock"]


def test_a_repeated_catalog_request_is_served_from_the_cache(
    api_client, max_queries_all_databases
):
    VariantFactory()
    first = api_client.get("/products/?page_size=5")

    with max_queries_all_databases(0):
        second = api_client.get("/products/?page_size=5")

    assert second.json() == first.json()


def test_the_cache_key_holds_the_full_query_string(
    api_client, max_queries_all_databases
):
    VariantFactory(region="US")
    api_client.get("/products/?region=US")

    with max_queries_all_databases(4) as captured:
        response = api_client.get("/products/?region=DE")

    assert len(captured) > 0
    assert response.json()["count"] == 0


def test_the_cache_key_holds_the_language(api_client, max_queries_all_databases):
    VariantFactory()
    api_client.get("/categories/", HTTP_ACCEPT_LANGUAGE="en")

    with max_queries_all_databases(1) as captured:
        api_client.get("/categories/", HTTP_ACCEPT_LANGUAGE="fa")

    assert len(captured) == 1


def test_a_change_outside_the_services_is_not_seen_until_a_bump(
    api_client, django_capture_on_commit_callbacks
):
    variant = VariantFactory(price=Decimal("10.00"))
    slug = variant.product.slug
    api_client.get(f"/products/{slug}")
    Variant.objects.filter(pk=variant.pk).update(price=Decimal("99.00"))

    stale = api_client.get(f"/products/{slug}").json()["variants"][0]["price"]
    with django_capture_on_commit_callbacks(execute=True):
        services.catalog_version_bump()
    fresh = api_client.get(f"/products/{slug}").json()["variants"][0]["price"]

    assert (stale, fresh) == ("10.00", "99.00")


def test_a_staff_edit_through_the_api_invalidates_the_cache(
    api_client, manager_client, django_capture_on_commit_callbacks
):
    variant = VariantFactory(price=Decimal("10.00"))
    api_client.get("/products/")

    with django_capture_on_commit_callbacks(execute=True):
        manager_client.patch(
            f"/products/{variant.product_id}/variants/{variant.pk}", {"price": "12.00"}
        )

    response = api_client.get("/products/")
    assert response.json()["results"][0]["variants"][0]["price"] == "12.00"


def test_a_new_product_appears_after_the_cached_list(
    api_client, manager_client, django_capture_on_commit_callbacks
):
    VariantFactory()
    api_client.get("/products/")
    product = ProductFactory(slug="fresh", is_active=False)
    VariantFactory(product=product)

    with django_capture_on_commit_callbacks(execute=True):
        manager_client.patch("/products/fresh", {"is_active": True})

    assert api_client.get("/products/").json()["count"] == 2


def test_importing_into_an_empty_pool_flips_in_stock(
    api_client, django_capture_on_commit_callbacks
):
    variant = VariantFactory()
    slug = variant.product.slug
    before = _in_stock(api_client, slug)

    with django_capture_on_commit_callbacks(execute=True):
        services.code_import(variant=variant, data="FRESH-CODE-0001\n")

    assert (before, _in_stock(api_client, slug)) == (False, True)


def test_voiding_the_last_code_flips_in_stock(
    api_client, django_capture_on_commit_callbacks
):
    code = DigitalCodeFactory()
    slug = code.variant.product.slug
    before = _in_stock(api_client, slug)

    with django_capture_on_commit_callbacks(execute=True):
        services.codes_void(code_ids=[code.pk])

    assert (before, _in_stock(api_client, slug)) == (True, False)


def test_a_reservation_that_empties_the_pool_shows_once_it_bumps(
    api_client, django_capture_on_commit_callbacks
):
    """What the orders services do: reserve, then bump when the pool empties."""
    code = DigitalCodeFactory()
    slug = code.variant.product.slug
    _in_stock(api_client, slug)
    DigitalCode.objects.filter(pk=code.pk).update(status=DigitalCode.Status.RESERVED)
    stale = _in_stock(api_client, slug)

    with django_capture_on_commit_callbacks(execute=True):
        services.catalog_version_bump()

    assert (stale, _in_stock(api_client, slug)) == (True, False)


def test_a_bump_inside_a_transaction_waits_for_the_commit(
    django_capture_on_commit_callbacks,
):
    version = cache.get(CATALOG_VERSION_KEY)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.catalog_version_bump()
        unchanged = cache.get(CATALOG_VERSION_KEY)
    for callback in callbacks:
        callback()

    assert unchanged == version
    assert cache.get(CATALOG_VERSION_KEY) != version


def test_an_evicted_version_never_serves_an_older_response(api_client):
    variant = PhysicalVariantFactory(stock=1)
    api_client.get("/products/")
    Variant.objects.filter(pk=variant.pk).update(stock=0)

    cache.delete(CATALOG_VERSION_KEY)

    variants = api_client.get("/products/").json()["results"][0]["variants"]
    assert variants[0]["in_stock"] is False


def test_an_error_answer_is_not_cached(api_client):
    missing = api_client.get("/products/later")
    ProductFactory(slug="later")
    VariantFactory(product=Product.objects.get(slug="later"))

    found = api_client.get("/products/later")

    assert (missing.status_code, found.status_code) == (
        HTTPStatus.NOT_FOUND,
        HTTPStatus.OK,
    )


@pytest.mark.redis
def test_catalog_responses_are_kept_in_redis(api_client):
    from django_redis import get_redis_connection

    VariantFactory()

    api_client.get("/products/")

    keys = get_redis_connection("default").keys("*catalog:response:*")
    assert len(keys) == 1
