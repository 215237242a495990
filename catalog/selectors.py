"""Reads of the catalog: the public tree and product lists, pool counts,
and the version that keys cached catalog responses."""

import logging
import time
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from catalog import vault
from catalog.models import Category, DigitalCode, Product, Variant

logger = logging.getLogger(__name__)

CATALOG_VERSION_KEY = "catalog:version"

ORDERINGS = {
    "price": ("min_price", "name", "id"),
    "-price": ("-min_price", "name", "id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "newest": ("-created_at", "-id"),
}


# --- Cache keys -------------------------------------------------------------------


def catalog_version() -> int:
    """The current catalog version (see ``services.catalog_version_bump``)."""
    version = cache.get(CATALOG_VERSION_KEY)
    if version is None:
        # First use, or the key was evicted: start from a number no earlier
        # version used, so responses stored before cannot be served again.
        cache.add(CATALOG_VERSION_KEY, new_catalog_version(), timeout=None)
        version = cache.get(CATALOG_VERSION_KEY)
    return version


def new_catalog_version() -> int:
    return time.time_ns() // 1000


# --- Categories ---------------------------------------------------------------------


def active_category_q(prefix: str = "") -> Q:
    """Categories that are active, as are their parent and grandparent."""
    return (
        Q(**{f"{prefix}is_active": True})
        & (
            Q(**{f"{prefix}parent__isnull": True})
            | Q(**{f"{prefix}parent__is_active": True})
        )
        & (
            Q(**{f"{prefix}parent__parent__isnull": True})
            | Q(**{f"{prefix}parent__parent__is_active": True})
        )
    )


def category_tree() -> list[dict]:
    """The active categories as nested ``{id, name, slug, children}`` nodes,
    in position order; one query. A child of an inactive category is hidden
    with it."""
    categories = list(
        Category.objects.filter(is_active=True).values(
            "id", "name", "slug", "parent_id"
        )
    )
    nodes = {
        row["id"]: {"id": row["id"], "name": row["name"], "slug": row["slug"]}
        for row in categories
    }
    for node in nodes.values():
        node["children"] = []
    roots = []
    for row in categories:
        node = nodes[row["id"]]
        if row["parent_id"] is None:
            roots.append(node)
        elif row["parent_id"] in nodes:
            nodes[row["parent_id"]]["children"].append(node)
    return roots


def category_id_for_slug(*, slug: str) -> int | None:
    return (
        Category.objects.filter(active_category_q(), slug=slug)
        .values_list("id", flat=True)
        .first()
    )


# --- Variants and products -------------------------------------------------------


def in_stock_expression() -> Case:
    """``in_stock`` of a variant, in SQL: an available code exists (code
    variants), stock on hand (shipped ones), always (manual activation).

    An ``EXISTS`` stops at the first available code through the
    (variant, status, …) index, so it costs the same for a pool of ten codes
    or a million, and no counter row is updated by every order.
    """
    available = DigitalCode.objects.filter(
        variant_id=OuterRef("pk"), status=DigitalCode.Status.AVAILABLE
    )
    return Case(
        When(fulfilment=Variant.Fulfilment.CODE, then=Exists(available)),
        When(fulfilment=Variant.Fulfilment.SHIPMENT, stock__gt=0, then=Value(True)),
        When(fulfilment=Variant.Fulfilment.SHIPMENT, then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )


def variants_listed(*, only_active: bool = True) -> QuerySet[Variant]:
    variants = Variant.objects.annotate(in_stock=in_stock_expression())
    if only_active:
        variants = variants.filter(is_active=True)
    return variants.order_by("position", "price", "id")


@dataclass(frozen=True)
class ProductFilters:
    category_id: int | None = None
    kind: str = ""
    brand: str = ""
    region: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    search: str = ""
    ordering: str = "name"


def _variant_q(filters: ProductFilters) -> Q:
    q = Q()
    if filters.region:
        q &= Q(region__iexact=filters.region)
    if filters.min_price is not None:
        q &= Q(price__gte=filters.min_price)
    if filters.max_price is not None:
        q &= Q(price__lte=filters.max_price)
    if filters.in_stock is not None:
        q &= Q(in_stock=filters.in_stock)
    return q


def _with_variants(products: QuerySet[Product], variants: QuerySet[Variant]):
    return products.select_related("category").prefetch_related(
        Prefetch("variants", queryset=variants, to_attr="listed_variants")
    )


def product_list(*, filters: ProductFilters) -> QuerySet[Product]:
    """Active products in active categories with at least one active variant
    matching the variant filters (region, price range, in stock); each
    product's ``listed_variants`` are those matching variants. Three queries
    for a page (count, products, variants), whatever its size."""
    variants = variants_listed().filter(_variant_q(filters))
    of_product = variants.filter(product_id=OuterRef("pk"))
    products = Product.objects.filter(active_category_q("category__"), is_active=True)
    products = products.filter(Exists(of_product))
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
        term = filters.search
        named_variant = Variant.objects.filter(
            product_id=OuterRef("pk"), is_active=True, name__icontains=term
        )
        products = products.filter(
            Q(name__icontains=term) | Q(brand__icontains=term) | Exists(named_variant)
        )
    if "price" in filters.ordering:
        # Only a price ordering needs it: MariaDB computes the subquery for
        # every matching product before it sorts and takes the page.
        products = products.annotate(
            min_price=Subquery(of_product.order_by("price").values("price")[:1])
        )
    products = products.order_by(*ORDERINGS[filters.ordering])
    return _with_variants(products, variants)


def _by_key(products: QuerySet[Product], key: str | int) -> Product:
    """``key`` is an id (an int, or digits) or a slug."""
    if isinstance(key, int):
        condition = Q(pk=key)
    elif key.isdigit():
        condition = Q(pk=int(key)) | Q(slug=key)
    else:
        condition = Q(slug=key)
    product = products.filter(condition).order_by("pk").first()
    if product is None:
        raise Http404
    return product


def product_get(*, key: str | int) -> Product:
    """One active product by id or slug, with its active variants (two
    queries); raises ``Http404``."""
    products = Product.objects.filter(active_category_q("category__"), is_active=True)
    return _by_key(_with_variants(products, variants_listed()), key)


def product_get_for_staff(*, key: str | int) -> Product:
    """Any product by id or slug, with every variant, active or not."""
    return _by_key(
        _with_variants(Product.objects.all(), variants_listed(only_active=False)), key
    )


# --- The pool ---------------------------------------------------------------------


def with_pool_counts(queryset: QuerySet) -> QuerySet:
    """Variants or batches (``queryset``) with ``codes_<status>`` counts of
    their codes, computed in the same query."""
    counts = {
        f"codes_{status}": Count("codes", filter=Q(codes__status=status))
        for status in DigitalCode.Status.values
    }
    return queryset.annotate(**counts)


@dataclass(frozen=True)
class CodeSecrets:
    code: str
    pin: str
    serial: str


def code_secrets(*, code: DigitalCode) -> CodeSecrets:
    """The plaintext of one code. Callers check that the reader may see it
    (its buyer, or staff holding ``catalog.reveal_code``); raises
    ``VaultError`` rather than returning anything in its place."""
    return CodeSecrets(
        code=vault.decrypt(code.code_encrypted),
        pin=vault.decrypt(code.pin_encrypted) if code.pin_encrypted else "",
        serial=vault.decrypt(code.serial_encrypted) if code.serial_encrypted else "",
    )


# --- Low stock ---------------------------------------------------------------------


def variants_with_stock_level() -> QuerySet[Variant]:
    """Active code and shipped variants with ``stock_level``: available codes
    of the pool, or units on hand. Activation by staff has no level."""
    available = (
        DigitalCode.objects.filter(
            variant_id=OuterRef("pk"), status=DigitalCode.Status.AVAILABLE
        )
        .order_by()
        .values("variant_id")
        .annotate(count=Count("id"))
        .values("count")
    )
    return (
        Variant.objects.filter(
            is_active=True,
            fulfilment__in=(Variant.Fulfilment.CODE, Variant.Fulfilment.SHIPMENT),
        )
        .annotate(
            stock_level=Case(
                When(
                    fulfilment=Variant.Fulfilment.CODE,
                    then=Coalesce(Subquery(available, output_field=IntegerField()), 0),
                ),
                default=F("stock"),
                output_field=IntegerField(),
            )
        )
        .select_related("product")
    )


def variants_low_stock() -> QuerySet[Variant]:
    """Variants whose available codes or stock are under their
    ``low_stock_threshold``, emptiest first."""
    return (
        variants_with_stock_level()
        .filter(stock_level__lt=F("low_stock_threshold"))
        .order_by("stock_level", "sku")
    )
