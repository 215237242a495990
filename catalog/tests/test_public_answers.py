"""The public product list and detail, built from rows by ``product_data``,
answer byte for byte what the nested ``ProductSerializer`` answers over model
instances (the reference below, which reads the products as the list always
has: joins to the category chain and a prefetch of the variants)."""

from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db.models import Exists, OuterRef, Q, Subquery
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from catalog import selectors
from catalog.models import DigitalCode, Product
from catalog.serializers import ProductQuerySerializer, ProductSerializer
from catalog.tests.factories import (
    CategoryFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
    ProductFactory,
    SubscriptionVariantFactory,
    VariantFactory,
)
from catalog.views import ProductViewSet
from mithrapay.routers import OptionalSlashRouter

pytestmark = pytest.mark.django_db


def reference_product_list(filters: selectors.ProductFilters):
    variants = selectors.variants_listed().filter(selectors._variant_q(filters))
    of_product = variants.filter(product_id=OuterRef("pk"))
    products = Product.objects.filter(
        selectors.active_category_q("category__"), is_active=True
    ).filter(Exists(of_product))
    if filters.category_id is not None:
        products = products.filter(
            Q(category_id=filters.category_id)
            | Q(category__parent_id=filters.category_id)
            | Q(category__parent__parent_id=filters.category_id)
        )
    if filters.kind:
        products = products.filter(kind=filters.kind)
    if filters.brand:
        products = products.filter(brand__iexact=filters.brand)
    if filters.search:
        named_variant = selectors.Variant.objects.filter(
            product_id=OuterRef("pk"), is_active=True, name__icontains=filters.search
        )
        products = products.filter(
            Q(name__icontains=filters.search)
            | Q(brand__icontains=filters.search)
            | Exists(named_variant)
        )
    if "price" in filters.ordering:
        products = products.annotate(
            min_price=Subquery(of_product.order_by("price").values("price")[:1])
        )
    products = products.order_by(*selectors.ORDERINGS[filters.ordering])
    return selectors._with_variants(products, variants)


class ReferenceProductViewSet(ProductViewSet):
    def _list(self, request):
        query = ProductQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(reference_product_list(query.filters()))
        return self.get_paginated_response(ProductSerializer(page, many=True).data)

    def retrieve(self, request, key: str):
        return Response(ProductSerializer(selectors.product_get(key=key)).data)


_router = OptionalSlashRouter()
_router.register("products", ReferenceProductViewSet, basename="product")
urlpatterns = _router.urls


@pytest.fixture
def catalog():
    """Three levels of categories, a closed branch, every fulfilment, pools
    full and empty, Persian names, an image, prices with and without cents,
    ties in name and creation time."""
    gifts = CategoryFactory(name="کارت هدیه", slug="gifts")
    stores = CategoryFactory(name="App stores", slug="stores", parent=gifts)
    itunes = CategoryFactory(name="iTunes", slug="itunes", parent=stores)
    music = CategoryFactory(name="Music", slug="music")
    closed = CategoryFactory(name="Closed", slug="closed", is_active=False)
    under_closed = CategoryFactory(slug="under-closed", parent=closed)

    apple = ProductFactory(
        name="Apple Gift Card",
        slug="apple",
        brand="Apple",
        category=itunes,
        description="کارت هدیه اپل — US & DE",
        image="products/apple.png",
    )
    full = VariantFactory(
        product=apple, sku="APL-US-25", name="$25 US", price=Decimal("1500000.50")
    )
    DigitalCodeFactory.create_batch(2, variant=full)
    empty = VariantFactory(
        product=apple,
        sku="APL-DE-50",
        name="€50 DE",
        price=Decimal("3000000"),
        region="DE",
        face_value=Decimal("50"),
        face_currency="EUR",
        position=1,
    )
    DigitalCodeFactory(variant=empty, status=DigitalCode.Status.SOLD)
    VariantFactory(product=apple, sku="APL-OFF", is_active=False)

    google = ProductFactory(
        name="Google Play", slug="2024", brand="Google", category=stores
    )
    VariantFactory(product=google, sku="GGL-10", price=Decimal("99.99"))
    VariantFactory(product=google, sku="GGL-TIE", price=Decimal("99.99"))

    for n, stock in enumerate([0, 3]):
        PhysicalVariantFactory(
            product=ProductFactory(
                name="Gift box",
                slug=f"box-{n}",
                kind=Product.Kind.PHYSICAL,
                brand="MithraPay",
                category=gifts,
            ),
            sku=f"BOX-{n}",
            stock=stock,
            max_per_order=3,
        )
    spotify = ProductFactory(
        name="اسپاتیفای پریمیوم",
        slug="spotify",
        kind=Product.Kind.SUBSCRIPTION,
        brand="Spotify",
        category=music,
    )
    SubscriptionVariantFactory(
        product=spotify,
        sku="SPT-1M",
        name="یک ماهه",
        price=Decimal("450000"),
        customer_fields=["account_email", "account_phone"],
    )
    SubscriptionVariantFactory(
        product=spotify, sku="SPT-12M", name="Twelve months", duration_days=365
    )
    for n in range(7):
        VariantFactory(
            product=ProductFactory(category=music, brand="Brand", name=f"Card {n % 3}"),
            price=Decimal(10 + n),
        )
    VariantFactory(product=ProductFactory(category=under_closed, slug="hidden"))
    VariantFactory(product=ProductFactory(is_active=False, slug="inactive"))
    ProductFactory(slug="no-variants", category=gifts)

    # Creation times with and without microseconds, some shared.
    for n, product in enumerate(Product.objects.order_by("pk")):
        product.created_at = datetime(2026, 1, 1 + n % 4, 12, 0, 0, n % 2 * 5, UTC)
        Product.objects.filter(pk=product.pk).update(created_at=product.created_at)


def _both(client, settings, path: str, language: str):
    """The answer of the catalog's view and the reference's to ``path``."""
    settings.RESPONSE_CACHE_ENABLED = False
    settings.ROOT_URLCONF = "mithrapay.urls"
    answer = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    settings.ROOT_URLCONF = __name__
    reference = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
    return answer, reference


def _assert_identical(answer, reference):
    assert answer.status_code == reference.status_code
    assert answer.content == reference.content
    skip = {"x-request-id"}
    assert [(k, v) for k, v in answer.items() if k.lower() not in skip] == [
        (k, v) for k, v in reference.items() if k.lower() not in skip
    ]


LIST_QUERIES = [
    "",
    "?page_size=3",
    "?page_size=3&page=2",
    "?page_size=4&page=4",
    "?page_size=100",
    "?page_size=1000",
    "?page=9",
    "?page_size=0",
    "?category=gifts",
    "?category=stores&ordering=-name",
    "?category=closed",
    "?kind=gift_card",
    "?kind=subscription&ordering=newest",
    "?brand=APPLE",
    "?region=de",
    "?region=us&in_stock=true",
    "?min_price=10&max_price=500000",
    "?min_price=2&max_price=1",
    "?in_stock=true",
    "?in_stock=false&ordering=price",
    "?search=card",
    "?search=%DA%A9%D8%A7%D8%B1%D8%AA",
    "?search=%D9%85%D8%A7%D9%87%D9%87",
    "?search=nothing-matches",
    "?ordering=price&page_size=5&page=2",
    "?ordering=-price",
    "?ordering=-name&page_size=2",
    "?ordering=newest&page_size=6",
    "?ordering=cheapest",
    "?category=music&brand=brand&ordering=price&min_price=11&page_size=2&page=2",
]


@pytest.mark.parametrize("language", ["en", "fa"])
@pytest.mark.parametrize("query", LIST_QUERIES)
def test_the_product_list_answers_what_the_nested_serializers_answered(
    client, settings, catalog, query, language
):
    answer, reference = _both(client, settings, f"/products/{query}", language)

    _assert_identical(answer, reference)


@pytest.mark.parametrize("language", ["en", "fa"])
@pytest.mark.parametrize(
    "key",
    [
        "apple",
        "2024",
        "spotify",
        "box-0",
        "hidden",
        "inactive",
        "no-variants",
        "missing",
        "99999999999999999999999",
        "٣",
    ],
)
def test_the_product_detail_answers_what_the_nested_serializers_answered(
    client, settings, catalog, key, language
):
    answer, reference = _both(client, settings, f"/products/{key}", language)

    _assert_identical(answer, reference)


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_product_detail_by_id_answers_what_the_nested_serializers_answered(
    client, settings, catalog, language
):
    for product in Product.objects.all():
        answer, reference = _both(client, settings, f"/products/{product.pk}", language)

        _assert_identical(answer, reference)


def test_the_comparison_covers_full_pages_and_every_kind(client, settings, catalog):
    answer, _reference = _both(client, settings, "/products/?page_size=100", "en")

    body = answer.json()
    assert body["count"] == 12
    assert {p["kind"] for p in body["results"]} == set(Product.Kind.values)
    variants = [v for p in body["results"] for v in p["variants"]]
    assert {v["in_stock"] for v in variants} == {True, False}
    assert any(v["customer_fields"] for v in variants)
    assert any(p["image"] for p in body["results"])
    assert answer.status_code == HTTPStatus.OK


@pytest.mark.parametrize("time_zone", ["UTC", "Asia/Tehran", "America/New_York"])
def test_times_and_prices_read_the_same_in_every_time_zone(
    client, settings, catalog, time_zone
):
    settings.TIME_ZONE = time_zone
    for path in ("/products/?page_size=100", "/products/apple"):
        answer, reference = _both(client, settings, path, "en")

        _assert_identical(answer, reference)
    created = answer.json()["created_at"]
    assert created.endswith("Z") == (time_zone == "UTC")


@pytest.mark.parametrize("params", [{}, {"page": "2"}, {"page": "x", "other": "1"}])
def test_a_query_without_filters_gets_the_filters_the_serializer_gives(params):
    query = ProductQuerySerializer(data=params)
    assert query.is_valid()

    assert ProductQuerySerializer.filters_for(params) == query.filters()


def test_a_query_with_a_filter_is_still_validated():
    with pytest.raises(ValidationError):
        ProductQuerySerializer.filters_for({"ordering": "cheapest"})
    assert ProductQuerySerializer.filters_for({"kind": "gift_card"}).kind == "gift_card"
