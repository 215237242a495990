from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.conf import settings
from django.utils import timezone

from catalog.models import DigitalCode, Product, Variant
from catalog.tests.factories import (
    CategoryFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
    ProductFactory,
    SubscriptionVariantFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def _skus(response) -> list[str]:
    return [v["sku"] for p in response.json()["results"] for v in p["variants"]]


def _slugs(response) -> list[str]:
    return [p["slug"] for p in response.json()["results"]]


def _other_digits(number: int) -> str:
    """``number`` in Arabic-Indic digits, which ``isdigit()`` and ``int()``
    accept but which name no id."""
    return str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


# --- Categories --------------------------------------------------------------


def test_categories_answers_the_active_tree(api_client):
    gifts = CategoryFactory(name="Gift cards", slug="gift-cards", position=1)
    CategoryFactory(name="App stores", slug="app-stores", parent=gifts)
    hidden = CategoryFactory(slug="hidden", parent=gifts, is_active=False)
    CategoryFactory(slug="under-hidden", parent=hidden)
    CategoryFactory(name="Accessories", slug="accessories", position=2)

    response = api_client.get("/categories/")

    assert response.status_code == HTTPStatus.OK
    tree = response.json()
    assert [c["slug"] for c in tree] == ["gift-cards", "accessories"]
    assert tree[0]["children"] == [
        {
            "id": tree[0]["children"][0]["id"],
            "name": "App stores",
            "slug": "app-stores",
            "children": [],
        }
    ]


@pytest.mark.parametrize("path", ["/categories", "/categories/"])
def test_categories_answers_with_and_without_the_trailing_slash(api_client, path):
    assert api_client.get(path).status_code == HTTPStatus.OK


# --- Product list ------------------------------------------------------------


def test_products_list_shows_variants_with_price_currency_and_availability(api_client):
    card = VariantFactory(sku="APL-25", price=Decimal("1500000.00"), region="US")
    DigitalCodeFactory(variant=card)
    DigitalCodeFactory.create_batch(3, variant=card)

    response = api_client.get("/products/")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["count"] == 1
    variant = body["results"][0]["variants"][0]
    assert variant == {
        "id": card.pk,
        "sku": "APL-25",
        "name": card.name,
        "price": "1500000.00",
        "currency": settings.SHOP_CURRENCY,
        "fulfilment": "code",
        "face_value": "25.00",
        "face_currency": "USD",
        "region": "US",
        "duration_days": None,
        "customer_fields": [],
        "max_per_order": 10,
        "in_stock": True,
    }
    assert "stock" not in variant


def test_products_in_stock_follows_each_fulfilment(api_client):
    empty_pool = VariantFactory(sku="EMPTY")
    DigitalCodeFactory(variant=empty_pool, status=DigitalCode.Status.SOLD)
    DigitalCodeFactory(variant=empty_pool, status=DigitalCode.Status.RESERVED)
    DigitalCodeFactory(variant=empty_pool, status=DigitalCode.Status.VOID)
    full_pool = VariantFactory(sku="FULL")
    DigitalCodeFactory(variant=full_pool)
    PhysicalVariantFactory(sku="SHELF", stock=2)
    PhysicalVariantFactory(sku="NO-SHELF", stock=0)
    SubscriptionVariantFactory(sku="MANUAL")

    response = api_client.get("/products/?page_size=50")

    in_stock = {
        v["sku"]: v["in_stock"]
        for p in response.json()["results"]
        for v in p["variants"]
    }
    assert in_stock == {
        "EMPTY": False,
        "FULL": True,
        "SHELF": True,
        "NO-SHELF": False,
        "MANUAL": True,
    }


def test_a_variant_whose_only_codes_have_expired_is_not_in_stock(api_client):
    today = timezone.localdate()
    expired = VariantFactory(sku="EXPIRED")
    DigitalCodeFactory.create_batch(
        2, variant=expired, expires_at=today - timedelta(days=1)
    )
    last_day = VariantFactory(sku="LAST-DAY")
    DigitalCodeFactory(variant=last_day, expires_at=today)
    DigitalCodeFactory(variant=VariantFactory(sku="NO-EXPIRY"), expires_at=None)

    listing = api_client.get("/products/?page_size=50")
    detail = api_client.get(f"/products/{expired.product_id}")
    only_in_stock = api_client.get("/products/?in_stock=true&page_size=50")

    in_stock = {
        v["sku"]: v["in_stock"]
        for p in listing.json()["results"]
        for v in p["variants"]
    }
    assert in_stock == {"EXPIRED": False, "LAST-DAY": True, "NO-EXPIRY": True}
    assert [v["in_stock"] for v in detail.json()["variants"]] == [False]
    assert sorted(_skus(only_in_stock)) == ["LAST-DAY", "NO-EXPIRY"]


def test_products_list_shows_customer_fields_with_labels(api_client):
    SubscriptionVariantFactory(customer_fields=["account_email"])

    response = api_client.get("/products/")

    fields = response.json()["results"][0]["variants"][0]["customer_fields"]
    assert fields == [
        {"name": "account_email", "label": "account email", "type": "email"}
    ]


def test_products_list_hides_inactive_products_variants_and_categories(api_client):
    VariantFactory(sku="SHOWN")
    VariantFactory(sku="OFF-VARIANT", is_active=False)
    VariantFactory(sku="OFF-PRODUCT", product=ProductFactory(is_active=False))
    closed = CategoryFactory(is_active=False)
    VariantFactory(
        sku="OFF-PARENT",
        product=ProductFactory(category=CategoryFactory(parent=closed)),
    )
    ProductFactory(slug="no-variants")

    response = api_client.get("/products/")

    assert _skus(response) == ["SHOWN"]


def test_products_list_is_paginated(api_client):
    VariantFactory.create_batch(5)

    response = api_client.get("/products/?page_size=2&page=2")

    body = response.json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"]
    assert body["previous"]


@pytest.mark.parametrize("path", ["/products", "/products/"])
def test_products_answers_with_and_without_the_trailing_slash(api_client, path):
    assert api_client.get(path).status_code == HTTPStatus.OK


# --- Filters -------------------------------------------------------------------


def test_filter_category_includes_its_subcategories(api_client):
    gifts = CategoryFactory(slug="gift-cards")
    stores = CategoryFactory(slug="app-stores", parent=gifts)
    deep = CategoryFactory(slug="apple", parent=stores)
    VariantFactory(sku="TOP", product=ProductFactory(category=gifts))
    VariantFactory(sku="MID", product=ProductFactory(category=stores))
    VariantFactory(sku="LOW", product=ProductFactory(category=deep))
    VariantFactory(sku="ELSEWHERE")

    everything = api_client.get("/products/?category=gift-cards")
    middle = api_client.get("/products/?category=app-stores")

    assert sorted(_skus(everything)) == ["LOW", "MID", "TOP"]
    assert sorted(_skus(middle)) == ["LOW", "MID"]


def test_filter_kind(api_client):
    VariantFactory(sku="CARD")
    SubscriptionVariantFactory(sku="PLAN")
    PhysicalVariantFactory(sku="CABLE")

    response = api_client.get("/products/?kind=subscription")

    assert _skus(response) == ["PLAN"]


def test_filter_brand_ignores_case(api_client):
    VariantFactory(sku="APPLE", product=ProductFactory(brand="Apple"))
    VariantFactory(sku="STEAM", product=ProductFactory(brand="Steam"))

    response = api_client.get("/products/?brand=steam")

    assert _skus(response) == ["STEAM"]


def test_filter_region_keeps_only_that_regions_variants(api_client):
    product = ProductFactory(slug="google-play")
    VariantFactory(sku="GP-US", product=product, region="US")
    VariantFactory(sku="GP-DE", product=product, region="DE")
    VariantFactory(sku="OTHER-US", region="US")

    response = api_client.get("/products/?region=de")

    assert _skus(response) == ["GP-DE"]


def test_filter_price_range(api_client):
    product = ProductFactory()
    VariantFactory(sku="CHEAP", product=product, price=Decimal("5.00"))
    VariantFactory(sku="MIDDLE", product=product, price=Decimal("50.00"))
    VariantFactory(sku="DEAR", price=Decimal("500.00"))

    response = api_client.get("/products/?min_price=10&max_price=100")

    assert _skus(response) == ["MIDDLE"]


def test_filter_in_stock(api_client):
    stocked = VariantFactory(sku="STOCKED")
    DigitalCodeFactory(variant=stocked)
    VariantFactory(sku="EMPTY")

    available = api_client.get("/products/?in_stock=true")
    missing = api_client.get("/products/?in_stock=false")

    assert _skus(available) == ["STOCKED"]
    assert _skus(missing) == ["EMPTY"]


@pytest.mark.parametrize(
    ("term", "expected"),
    [("netflix", ["netflix"]), ("STEAM", ["steam-wallet"]), ("ultra", ["netflix"])],
)
def test_search_over_product_names_variant_names_and_brand(api_client, term, expected):
    VariantFactory(
        product=ProductFactory(slug="netflix", name="Netflix Premium", brand="Netflix"),
        name="Ultra HD",
    )
    VariantFactory(
        product=ProductFactory(slug="steam-wallet", name="Wallet", brand="Steam")
    )

    response = api_client.get(f"/products/?search={term}")

    assert _slugs(response) == expected


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["mid", "cheap-low", "dear"]),
        ("-price", ["dear", "cheap-low", "mid"]),
        ("name", ["cheap-low", "dear", "mid"]),
        ("newest", ["mid", "dear", "cheap-low"]),
    ],
)
def test_ordering(api_client, ordering, expected):
    low = ProductFactory(slug="cheap-low", name="A")
    VariantFactory(product=low, price=Decimal("20.00"))
    VariantFactory(product=low, price=Decimal("900.00"))
    VariantFactory(
        product=ProductFactory(slug="dear", name="B"), price=Decimal("100.00")
    )
    VariantFactory(product=ProductFactory(slug="mid", name="C"), price=Decimal("10.00"))

    response = api_client.get(f"/products/?ordering={ordering}")

    assert _slugs(response) == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=bicycle", "kind"),
        ("min_price=cheap", "min_price"),
        ("max_price=-5", "max_price"),
        ("min_price=NaN", "min_price"),
        ("min_price=50&max_price=10", "max_price"),
        ("in_stock=maybe", "in_stock"),
        ("ordering=colour", "ordering"),
        ("category=no-such-category", "category"),
        ("category=bad%20slug!", "category"),
        ("search=" + "x" * 101, "search"),
    ],
)
def test_bad_filter_values_answer_validation_error(api_client, query, field):
    VariantFactory()

    response = api_client.get(f"/products/?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]


def test_an_out_of_range_page_is_a_404_not_a_500(api_client):
    response = api_client.get("/products/?page=99")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


# --- Product detail ------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/"])
def test_product_detail_by_id_or_slug(api_client, suffix):
    variant = VariantFactory(product=ProductFactory(slug="apple-gift-card"))
    VariantFactory(product=variant.product, is_active=False)

    by_slug = api_client.get(f"/products/apple-gift-card{suffix}")
    by_id = api_client.get(f"/products/{variant.product_id}{suffix}")

    assert by_slug.status_code == by_id.status_code == HTTPStatus.OK
    assert by_slug.json() == by_id.json()
    assert [v["id"] for v in by_slug.json()["variants"]] == [variant.pk]


@pytest.mark.parametrize(
    "key", ["no-such-product", "999999", "inactive", "\u00b2", "\u0663" * 3]
)
def test_product_detail_of_an_unknown_or_inactive_product_is_not_found(api_client, key):
    VariantFactory(product=ProductFactory(slug="inactive", is_active=False))

    response = api_client.get(f"/products/{key}")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_product_detail_by_an_id_in_other_digits_is_not_found(api_client):
    product = VariantFactory().product

    response = api_client.get(f"/products/{_other_digits(product.pk)}")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


# --- Query budgets -------------------------------------------------------------


@pytest.mark.parametrize("page_size", [1, 5, 40])
def test_product_list_costs_at_most_four_queries_whatever_the_page_size(
    api_client, max_queries_all_databases, page_size
):
    parent = CategoryFactory(slug="gifts")
    for _n in range(40):
        product = ProductFactory(category=CategoryFactory(parent=parent))
        DigitalCodeFactory(variant=VariantFactory(product=product))
        VariantFactory(product=product, region="DE")
        PhysicalVariantFactory(product=product)

    with max_queries_all_databases(4):
        response = api_client.get(
            f"/products/?page_size={page_size}&category=gifts&in_stock=true"
            "&search=product&ordering=-price&min_price=1"
        )

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == page_size


def test_product_detail_costs_at_most_three_queries(
    api_client, max_queries_all_databases
):
    product = ProductFactory(slug="apple")
    for _ in range(10):
        DigitalCodeFactory(variant=VariantFactory(product=product))

    with max_queries_all_databases(3):
        response = api_client.get("/products/apple")

    assert len(response.json()["variants"]) == 10


def test_categories_cost_one_query(api_client, max_queries_all_databases):
    for _ in range(5):
        CategoryFactory(parent=CategoryFactory())

    with max_queries_all_databases(1):
        response = api_client.get("/categories/")

    assert len(response.json()) == 5


# --- Staff writes --------------------------------------------------------------

PRODUCT = {"kind": "gift_card", "brand": "Apple", "name": "Apple Gift Card"}
VARIANT = {
    "sku": "APL-US-25",
    "name": "$25 US",
    "price": "1600000.00",
    "face_value": "25.00",
    "face_currency": "USD",
    "region": "US",
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/products/"),
        ("patch", "/products/{id}"),
        ("put", "/products/{id}/"),
        ("post", "/products/{id}/variants"),
        ("patch", "/products/{id}/variants/{variant}"),
    ],
)
def test_catalog_writes_need_authentication_then_permission(
    api_client, auth_client, method, path
):
    variant = VariantFactory(price=Decimal("5.00"))
    url = path.format(id=variant.product_id, variant=variant.pk)
    body = {"price": "1.00", **PRODUCT, "category": variant.product.category.slug}

    anonymous = getattr(api_client, method)(url, body, format="json")
    customer = getattr(auth_client, method)(url, body, format="json")

    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED
    assert anonymous.json()["code"] == "not_authenticated"
    assert customer.status_code == HTTPStatus.FORBIDDEN
    assert customer.json()["code"] == "permission_denied"
    assert Product.objects.count() == 1
    assert Variant.objects.get().price == Decimal("5.00")


def test_support_staff_cannot_edit_the_catalog(support_user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user=support_user)
    category = CategoryFactory()

    response = client.post("/products/", {**PRODUCT, "category": category.slug})

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_catalog_manager_creates_a_product_then_a_variant(manager_client):
    category = CategoryFactory(slug="app-stores")

    created = manager_client.post(
        "/products", {**PRODUCT, "category": "app-stores", "is_active": False}
    )
    product_id = created.json()["id"]
    with_variant = manager_client.post(f"/products/{product_id}/variants/", VARIANT)

    assert created.status_code == HTTPStatus.CREATED
    assert created.json()["slug"] == "apple-gift-card"
    assert created.json()["is_active"] is False
    assert with_variant.status_code == HTTPStatus.CREATED
    variant = with_variant.json()["variants"][0]
    assert (variant["sku"], variant["price"], variant["in_stock"]) == (
        "APL-US-25",
        "1600000.00",
        False,
    )
    assert Product.objects.get().category == category


def test_catalog_manager_edits_a_product_and_a_variant(manager_client):
    variant = VariantFactory(price=Decimal("5.00"))
    product = variant.product

    renamed = manager_client.patch(f"/products/{product.slug}", {"name": "Renamed"})
    repriced = manager_client.patch(
        f"/products/{product.pk}/variants/{variant.pk}", {"price": "7.50"}
    )

    assert renamed.status_code == repriced.status_code == HTTPStatus.OK
    product.refresh_from_db()
    variant.refresh_from_db()
    assert (product.name, variant.price) == ("Renamed", Decimal("7.50"))


def test_catalog_manager_can_edit_an_inactive_product(manager_client):
    product = ProductFactory(is_active=False)

    response = manager_client.patch(f"/products/{product.pk}", {"is_active": True})

    assert response.status_code == HTTPStatus.OK
    product.refresh_from_db()
    assert product.is_active


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "-1.00"}, "price"),
        ({"price": "abc"}, "price"),
        ({"region": ""}, "region"),
        ({"fulfilment": "shipment"}, "fulfilment"),
        ({"sku": "TAKEN"}, "sku"),
        ({"customer_fields": ["shoe_size"]}, "customer_fields"),
        ({"customer_fields": "account_email"}, "customer_fields"),
        ({"max_per_order": 0}, "max_per_order"),
    ],
)
def test_bad_variant_input_answers_validation_error_and_changes_nothing(
    manager_client, change, field
):
    VariantFactory(sku="TAKEN")
    product = ProductFactory()

    response = manager_client.post(
        f"/products/{product.pk}/variants", {**VARIANT, **change}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["fields"]
    assert not product.variants.exists()


def test_negative_stock_is_refused(manager_client):
    variant = PhysicalVariantFactory(stock=3)

    response = manager_client.patch(
        f"/products/{variant.product_id}/variants/{variant.pk}", {"stock": -1}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "stock" in response.json()["fields"]
    variant.refresh_from_db()
    assert variant.stock == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "no-such-category"}, "category"),
        ({"kind": "boat"}, "kind"),
        ({"name": ""}, "name"),
        ({"slug": "taken"}, "slug"),
    ],
)
def test_bad_product_input_answers_validation_error(manager_client, body, field):
    category = CategoryFactory()
    ProductFactory(slug="taken")

    response = manager_client.post(
        "/products/", {**PRODUCT, "category": category.slug, **body}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["fields"]
    assert Product.objects.count() == 1


def test_a_variant_of_another_product_is_not_found(manager_client):
    variant = VariantFactory()
    other = ProductFactory()

    response = manager_client.patch(
        f"/products/{other.pk}/variants/{variant.pk}", {"price": "1.00"}
    )

    assert response.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize("key", ["\u00b2", "\u00b9\u00b2", "same id, other digits"])
def test_staff_writes_to_a_key_of_non_ascii_digits_are_not_found(
    manager_client, method, key
):
    product = ProductFactory(name="Kept")
    if key == "same id, other digits":
        key = _other_digits(product.pk)
    body = {**PRODUCT, "category": product.category.slug, "name": "Changed"}

    response = getattr(manager_client, method)(f"/products/{key}", body, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"
    product.refresh_from_db()
    assert product.name == "Kept"


def test_malformed_json_is_a_parse_error(manager_client):
    response = manager_client.generic(
        "POST", "/products/", "{not json", content_type="application/json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "parse_error"
