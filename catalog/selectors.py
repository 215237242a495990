"""Reads of the catalog: the public tree and product lists, pool counts,
and the version that keys cached catalog responses."""

import datetime
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.core.cache import cache
from django.db import router
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
from django.db.models.lookups import Exact
from django.http import Http404
from django.utils import timezone

from catalog import vault
from catalog.models import Category, DigitalCode, Product, Variant
from mithrapay.statements import (
    DATE_SENTINEL,
    ID_SENTINEL,
    STATEMENTS_KEPT,
    Statement,
    date_swap,
    from_row,
    id_sentinels,
    stored_columns,
)

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


def category_subtree_q(category_id: int) -> Q:
    """A category and the categories under it (three levels at most)."""
    return (
        Q(pk=category_id) | Q(parent_id=category_id) | Q(parent__parent_id=category_id)
    )


def category_id_for_slug(*, slug: str) -> int | None:
    return (
        Category.objects.filter(active_category_q(), slug=slug)
        .values_list("id", flat=True)
        .first()
    )


# --- Variants and products -------------------------------------------------------


def unexpired(*, today: datetime.date | None = None) -> Q:
    """Codes whose printed expiry, if any, is not before ``today`` (the
    shop's date by default): a code is still good on the day it expires.
    Through ``use_by``, where a code without an expiry comes after every
    date, so the test is one range of the allocation index."""
    if today is None:
        today = timezone.localdate()
    return Q(use_by__gte=today)


def sellable_codes(*, today: datetime.date | None = None) -> QuerySet[DigitalCode]:
    """Available, unexpired codes: the codes a buyer can still be given."""
    return DigitalCode.objects.filter(
        unexpired(today=today), status=DigitalCode.Status.AVAILABLE
    )


def in_stock_expression(*, today: datetime.date | None = None) -> Case:
    """``in_stock`` of a variant, in SQL: a sellable code exists (code
    variants; see :func:`sellable_codes`), stock on hand (shipped ones),
    always (manual activation).

    An ``EXISTS`` stops at the first such code through the
    (variant, status, use_by, …) index, so it costs the same for a pool
    of ten codes or a million, and no counter row is updated by every order.
    """
    available = sellable_codes(today=today).filter(variant_id=OuterRef("pk"))
    return Case(
        When(fulfilment=Variant.Fulfilment.CODE, then=Exists(available)),
        When(fulfilment=Variant.Fulfilment.SHIPMENT, stock__gt=0, then=Value(True)),
        When(fulfilment=Variant.Fulfilment.SHIPMENT, then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )


def variants_listed(
    *, only_active: bool = True, today: datetime.date | None = None
) -> QuerySet[Variant]:
    variants = Variant.objects.annotate(in_stock=in_stock_expression(today=today))
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


def listable_q() -> Q:
    """Products the public list shows: active, in an active category (see
    :func:`active_category_q`), with at least one active variant. Stored per
    product as ``Product.listed`` (``services.products_relist``)."""
    categories = Category.objects.filter(active_category_q())
    active_variant = Variant.objects.filter(product_id=OuterRef("pk"), is_active=True)
    return (
        Q(is_active=True)
        & Q(category_id__in=categories.values("pk"))
        & Q(Exists(active_variant))
    )


def _matching(
    filters: ProductFilters,
    *,
    check_each_product: bool = False,
    today: datetime.date | None = None,
) -> tuple[QuerySet[Product], QuerySet[Variant]]:
    """The products ``filters`` select, in their order, and the variants of
    theirs to list. ``check_each_product`` words the matching-variant
    condition, when a variant filter asks for one, so that MariaDB looks it
    up for each product it reads (a page read in index order reads a page
    and stops) instead of first collecting the products of every matching
    variant (best when counting them all)."""
    variant_q = _variant_q(filters)
    variants = variants_listed(today=today).filter(variant_q)
    # ``listed`` holds the rule for active products, categories and
    # variants; only the filters are worked out here.
    products = Product.objects.filter(listed=True)
    if filters.category_id is not None:
        # An ``IN`` subquery rather than a join: MariaDB then walks the
        # products in the (listed, name, id) index and stops at the page's
        # end, instead of sorting every product of the categories.
        categories = Category.objects.filter(category_subtree_q(filters.category_id))
        products = products.filter(category_id__in=categories.values("pk"))
    of_product = variants.filter(product_id=OuterRef("pk"))
    if variant_q and check_each_product:
        # A comparison, not a bare EXISTS, which MariaDB turns into a
        # semi-join and materialises over every variant.
        products = products.filter(Exact(Exists(of_product), Value(True)))
    elif variant_q:
        products = products.filter(Exists(of_product))
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
    return products.order_by(*ORDERINGS[filters.ordering]), variants


def product_list(*, filters: ProductFilters) -> QuerySet[Product]:
    """Active products in active categories with at least one active variant
    matching the variant filters (region, price range, in stock); each
    product's ``listed_variants`` are those matching variants. Three queries
    for a page (count, products, variants), whatever its size."""
    return _with_variants(*_matching(filters))


# --- The public answers, from prepared statements ---------------------------------
#
# The public list and detail are read as plain rows (``.values()``), not model
# instances, and each statement is compiled by the ORM once per process and
# shape (database, filters, page length), then run with that shape's
# parameters: building and compiling the querysets cost more than running
# them. A value that changes between requests of one shape (a product id, a
# slug, today's date for the codes' expiry) is compiled as a sentinel
# parameter and swapped for the real value.

PRODUCT_COLUMNS = (
    "id",
    "kind",
    "brand",
    "name",
    "slug",
    "description",
    "image",
    "category_id",
    "category_name",
    "category_slug",
    "created_at",
)
VARIANT_COLUMNS = (
    "id",
    "product_id",
    "sku",
    "name",
    "price",
    "fulfilment",
    "face_value",
    "face_currency",
    "region",
    "duration_days",
    "customer_fields",
    "max_per_order",
    "in_stock",
)
# Like the statements' own sentinels, distinct from every real parameter.
_TEXT_SENTINEL = "\x00product key\x00"
MAX_ID = 2**63 - 1


def _product_columns(products: QuerySet[Product]) -> QuerySet:
    # The category's name and slug by subqueries rather than a join, which
    # would make MariaDB start from the categories and sort the products.
    category = Category.objects.filter(pk=OuterRef("category_id"))
    return products.annotate(
        category_name=Subquery(category.values("name")),
        category_slug=Subquery(category.values("slug")),
    ).values(*PRODUCT_COLUMNS)


@lru_cache(maxsize=STATEMENTS_KEPT)
def _list_statements(
    using: str, filters: ProductFilters
) -> tuple[Statement, Statement]:
    """(count, page without its limit) of the product list for ``filters``."""
    # A price ordering sorts every matching product by its lowest price
    # anyway: there the collected form is the cheaper one.
    walks_index = "price" not in filters.ordering
    products, _variants = _matching(
        filters, check_each_product=walks_index, today=DATE_SENTINEL
    )
    page = Statement.of(_product_columns(products), using)
    products, _variants = _matching(filters, today=DATE_SENTINEL)
    # Counting over the ids query's own FROM and WHERE lets MariaDB count
    # from the indexes, where a derived table around it costs half as much
    # again.
    return Statement.counting(products, using), page


@lru_cache(maxsize=STATEMENTS_KEPT)
def _variants_statement(
    using: str, filters: ProductFilters | None, products: int
) -> Statement:
    """The listed variants of ``products`` products (sentinel ids)."""
    variants = variants_listed(today=DATE_SENTINEL)
    if filters is not None:
        variants = variants.filter(_variant_q(filters))
    return Statement.of(
        variants.filter(product_id__in=id_sentinels(products)).values(*VARIANT_COLUMNS),
        using,
        # Read only by product_data.
        shared_json=("customer_fields",),
    )


@lru_cache(maxsize=8)
def _detail_statement(using: str, shape: str) -> Statement:
    """One active product by ``shape``: "id", "id or slug" or "slug"."""
    products = Product.objects.filter(active_category_q("category__"), is_active=True)
    condition = {
        "id": Q(pk=ID_SENTINEL),
        "id or slug": Q(pk=ID_SENTINEL) | Q(slug=_TEXT_SENTINEL),
        "slug": Q(slug=_TEXT_SENTINEL),
    }[shape]
    products = _product_columns(products.filter(condition).order_by("pk")[:1])
    return Statement.of(products, using)


class ProductRows:
    """The product list for ``filters`` as the paginator reads it: ``count()``
    and a slice of product rows, each with its ``variants`` rows (the
    variants matching the filters). A page costs three queries: the count,
    the products, their variants (none when the page is empty)."""

    def __init__(self, *, filters: ProductFilters):
        self.filters = filters
        self.using = router.db_for_read(Product)
        self.today = _today_swap(self.using)

    def count(self) -> int:
        count, _page = _list_statements(self.using, self.filters)
        return count.rows(self.using, swap=self.today)[0]["n"]

    def __getitem__(self, window: slice) -> list[dict]:
        start, stop = window.start or 0, window.stop
        if stop is not None and stop <= start:
            return []
        _count, page = _list_statements(self.using, self.filters)
        limit = stop - start if stop is not None else 2**62
        rows = page.rows(
            self.using,
            extra_sql=" LIMIT %s OFFSET %s",
            extra_params=(limit, start),
            swap=self.today,
        )
        return _with_variant_rows(rows, self.using, self.filters, today=self.today)


def _today_swap(using: str) -> dict:
    """Today's date for the compiled date sentinel, so a statement compiled
    on an earlier day still compares expiries with the current one."""
    return date_swap(using, timezone.localdate())


def _with_variant_rows(
    rows: list[dict],
    using: str,
    filters: ProductFilters | None,
    *,
    today: dict | None = None,
) -> list[dict]:
    """``rows`` with their variants; ``today`` is :func:`_today_swap`'s
    answer when the caller has it already."""
    by_product = {row["id"]: [] for row in rows}
    if by_product:
        statement = _variants_statement(using, filters, len(by_product))
        swap = dict(zip(id_sentinels(len(by_product)), by_product, strict=True))
        swap.update(today or _today_swap(using))
        for variant in statement.rows(using, swap=swap):
            by_product[variant["product_id"]].append(variant)
    for row in rows:
        row["variants"] = by_product[row["id"]]
    return rows


@lru_cache(maxsize=STATEMENTS_KEPT)
def _variants_by_id_statement(using: str, count: int) -> Statement:
    """Variants with every column of their product, by ``count`` sentinel ids."""
    variants = Variant.objects.filter(pk__in=id_sentinels(count))
    return Statement.of(
        variants.values(
            *stored_columns(Variant), *stored_columns(Product, prefix="product__")
        ),
        using,
    )


def variants_by_id(*, ids: list[int]) -> dict[int, Variant]:
    """``Variant.objects.select_related("product").in_bulk(ids)``, active or
    not, through a statement compiled once per number of ids."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    using = router.db_for_read(Variant)
    statement = _variants_by_id_statement(using, len(ids))
    swap = dict(zip(id_sentinels(len(ids)), ids, strict=True))
    variants = {}
    for row in statement.rows(using, swap=swap):
        variant = from_row(Variant, row, using)
        variant.product = from_row(Product, row, using, prefix="product__")
        variants[variant.pk] = variant
    return variants


def product_row_get(*, key: str | int) -> dict:
    """``product_get`` as a product row with its active ``variants`` rows
    (two queries); raises ``Http404``."""
    using = router.db_for_read(Product)
    if isinstance(key, int):
        shape, swap = "id", {ID_SENTINEL: key}
    elif key.isascii() and key.isdecimal() and int(key) <= MAX_ID:
        shape, swap = "id or slug", {ID_SENTINEL: int(key), _TEXT_SENTINEL: key}
    else:
        # Digits past any id, digits of another script (never an id) or no
        # number at all: only a slug.
        shape, swap = "slug", {_TEXT_SENTINEL: key}
    rows = _detail_statement(using, shape).rows(using, swap=swap)
    if not rows:
        raise Http404
    return _with_variant_rows(rows, using, None)[0]


def _by_key(products: QuerySet, key: str | int):
    """``key`` is an id (an int, or digits) or a slug."""
    if isinstance(key, int):
        condition = Q(pk=key)
    elif key.isascii() and key.isdigit():
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
    of the pool that have not expired (see :func:`sellable_codes`), or units
    on hand. Activation by staff has no level."""
    available = (
        sellable_codes()
        .filter(variant_id=OuterRef("pk"))
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
