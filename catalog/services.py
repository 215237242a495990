"""Writes to the catalog: categories, products and variants, code imports,
key rotation, voiding codes, and the catalog version that keys cached
responses.

Every write that changes what the public catalog shows ends with
:func:`catalog_version_bump`, called explicitly (no signals). The one
exception is ``Product.listed``, derived data that must hold after every
write whatever made it (a service, the admin, a cascade, a test's factory):
``catalog.signals`` calls :func:`products_relist` after each save and delete
that can change it.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from catalog import code_files, vault
from catalog.errors import (
    CodeUnreadable,
    RevealNotAllowed,
    StockChanged,
    VariantNotCoded,
)
from catalog.models import (
    Category,
    CodeBatch,
    CodeReveal,
    DigitalCode,
    Product,
    Variant,
)
from catalog.selectors import (
    CATALOG_VERSION_KEY,
    CodeSecrets,
    category_subtree_q,
    code_secrets,
    listable_q,
    new_catalog_version,
    variants_with_stock_level,
)
from mithrapay import throttling
from mithrapay.errors import ApplicationError
from mithrapay.transactions import retry_on_lock_conflict

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE = 1000
ROTATE_BATCH_SIZE = 500
# Duplicate rows listed by row number in an import summary.
MAX_REPORTED_DUPLICATES = 50

# (phase, rows just done, rows in the phase): a command draws a progress bar.
Progress = Callable[[str, int, int], None]


# --- The catalog version ------------------------------------------------------


def catalog_version_bump() -> None:
    """Make every cached catalog response stale.

    Call it after any change the public catalog shows: staff edits, imports,
    voided codes, and a variant's ``in_stock`` flipping (the orders services
    call it when a reservation empties a variant's pool or stock, and when a
    release refills it). Inside a transaction the bump waits for the commit,
    so no reader caches the old state under the new version; outside one it
    happens at once. Cheap: one atomic increment in the cache.
    """
    transaction.on_commit(_bump_now)


def _bump_now() -> None:
    try:
        cache.incr(CATALOG_VERSION_KEY)
    except ValueError:
        # The key was never set or was evicted: start from a value no
        # earlier version used.
        cache.set(CATALOG_VERSION_KEY, new_catalog_version(), timeout=None)
    except Exception:
        logger.warning("catalog version not bumped: cache unavailable", exc_info=True)


# --- Categories, products and variants ----------------------------------------


def products_relist(*, products: QuerySet[Product]) -> None:
    """Work ``Product.listed`` out again for ``products`` from their current
    rows, their category's and their variants'. ``products`` filters on the
    product's own columns: a join would lock the joined rows too."""
    with transaction.atomic():
        # Locked in id order first, and the rule read in a statement of its
        # own after the locks: two writes that each deactivate one of a
        # product's last two active variants then relist it one after the
        # other, the second seeing the first's commit. Each would otherwise
        # see the other's variant still active and leave the product listed
        # with neither.
        ids = list(
            products.select_for_update().order_by("pk").values_list("pk", flat=True)
        )
        if ids:
            Product.objects.filter(pk__in=ids).update(
                listed=Case(When(listable_q(), then=Value(True)), default=Value(False))
            )


def category_products(*, category_id: int) -> QuerySet[Product]:
    """The products of a category and of the categories under it."""
    # The ids first: a subquery would have the caller's locking read lock
    # the category rows too.
    subtree = Category.objects.filter(category_subtree_q(category_id))
    return Product.objects.filter(
        category_id__in=list(subtree.values_list("pk", flat=True))
    )


def _slug(value: str, text: str) -> str:
    return value or slugify(text, allow_unicode=True)[:200]


def variant_validate_kind(product: Product, variant: Variant) -> None:
    """The attributes each kind of product needs in its variants; raises
    ``ValidationError`` by field. The admin's variant forms run it too."""
    errors: dict[str, list] = {}
    kind = product.kind
    allowed = {
        Product.Kind.GIFT_CARD: {Variant.Fulfilment.CODE},
        Product.Kind.SUBSCRIPTION: {Variant.Fulfilment.CODE, Variant.Fulfilment.MANUAL},
        Product.Kind.PHYSICAL: {Variant.Fulfilment.SHIPMENT},
    }[kind]
    if variant.fulfilment not in allowed:
        errors["fulfilment"] = [_("This fulfilment does not fit the product's kind.")]
    if kind == Product.Kind.GIFT_CARD:
        required = {
            "face_value": variant.face_value,
            "face_currency": variant.face_currency,
            "region": variant.region,
        }
        for name, value in required.items():
            if value in (None, ""):
                errors[name] = [_("A gift card needs this.")]
    if kind == Product.Kind.SUBSCRIPTION and not variant.duration_days:
        errors["duration_days"] = [_("A subscription needs its length in days.")]
    if variant.face_currency and not (
        len(variant.face_currency) == 3 and variant.face_currency.isalpha()
    ):
        errors["face_currency"] = [_("Give a three-letter currency code (USD).")]
    if errors:
        raise ValidationError(errors)


def _normalize_variant(variant: Variant) -> None:
    variant.face_currency = variant.face_currency.strip().upper()
    variant.region = variant.region.strip().upper()


@transaction.atomic
def category_create(
    *,
    name: str,
    slug: str = "",
    parent: Category | None = None,
    position: int = 0,
    is_active: bool = True,
) -> Category:
    category = Category(
        name=name,
        slug=_slug(slug, name),
        parent=parent,
        position=position,
        is_active=is_active,
    )
    category.full_clean()
    category.save()
    catalog_version_bump()
    return category


CATEGORY_FIELDS = ("name", "slug", "parent", "position", "is_active")


@transaction.atomic
def category_update(*, category: Category, data: dict) -> Category:
    """Change the fields named in ``data`` (any of ``CATEGORY_FIELDS``)."""
    # Locked so two saves of one category apply one after the other, each
    # validated against the row the other left.
    category = Category.objects.select_for_update().get(pk=category.pk)
    for name in CATEGORY_FIELDS:
        if name in data:
            setattr(category, name, data[name])
    if "slug" in data and not category.slug:
        category.slug = _slug("", category.name)
    category.full_clean()
    category.save()
    catalog_version_bump()
    logger.info("category changed", extra={"category_id": category.pk})
    return category


@transaction.atomic
def product_create(
    *,
    kind: str,
    brand: str,
    category: Category,
    name: str,
    slug: str = "",
    description: str = "",
    image="",
    is_active: bool = True,
) -> Product:
    product = Product(
        kind=kind,
        brand=brand.strip(),
        category=category,
        name=name,
        slug=_slug(slug, name),
        description=description,
        image=image,
        is_active=is_active,
    )
    product.full_clean()
    product.save()
    catalog_version_bump()
    logger.info("product created", extra={"product_id": product.pk})
    return product


PRODUCT_FIELDS = (
    "kind",
    "brand",
    "category",
    "name",
    "slug",
    "description",
    "image",
    "is_active",
)


@transaction.atomic
def product_update(*, product: Product, data: dict) -> Product:
    """Change the fields named in ``data`` (any of ``PRODUCT_FIELDS``)."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    for name in PRODUCT_FIELDS:
        if name in data:
            setattr(product, name, data[name])
    if "slug" in data and not product.slug:
        product.slug = _slug("", product.name)
    product.full_clean()
    if "kind" in data:
        try:
            for variant in product.variants.all():
                variant_validate_kind(product, variant)
        except ValidationError:
            raise ValidationError(
                {"kind": [_("The product's variants do not fit this kind.")]}
            ) from None
    product.save()
    catalog_version_bump()
    logger.info("product changed", extra={"product_id": product.pk})
    return product


VARIANT_FIELDS = (
    "sku",
    "name",
    "price",
    "is_active",
    "position",
    "fulfilment",
    "face_value",
    "face_currency",
    "region",
    "duration_days",
    "stock",
    "customer_fields",
    "max_per_order",
    "low_stock_threshold",
)


@transaction.atomic
def variant_create(*, product: Product, data: dict) -> Variant:
    """A new variant of ``product`` from ``data`` (``VARIANT_FIELDS``)."""
    fields = {name: data[name] for name in VARIANT_FIELDS if name in data}
    if "fulfilment" not in fields:
        fields["fulfilment"] = {
            Product.Kind.GIFT_CARD: Variant.Fulfilment.CODE,
            Product.Kind.SUBSCRIPTION: Variant.Fulfilment.CODE,
            Product.Kind.PHYSICAL: Variant.Fulfilment.SHIPMENT,
        }[product.kind]
    variant = Variant(product=product, **fields)
    _normalize_variant(variant)
    variant.full_clean()
    variant_validate_kind(product, variant)
    variant.save()
    catalog_version_bump()
    logger.info("variant created", extra={"variant_id": variant.pk})
    return variant


@transaction.atomic
def variant_update(
    *, variant: Variant, data: dict, expected_stock: int | None = None
) -> Variant:
    """Change the fields named in ``data`` (``VARIANT_FIELDS``, and
    ``product`` to move the variant); only their columns are written.

    The row is locked first: an order taking stock at the same moment
    (a conditional UPDATE of ``stock``) waits, so a staff edit of the stock
    count is never lost under it, nor it under the edit. A ``stock`` given
    with ``expected_stock`` (the count staff saw when they began editing)
    is applied only if the count is still that one; otherwise
    :class:`StockChanged` and nothing is written, so units orders took or
    returned in the meantime are not undone. Without ``stock`` in ``data``
    the column is left alone.
    """
    variant = (
        Variant.objects.select_for_update().select_related("product").get(pk=variant.pk)
    )
    if (
        "stock" in data
        and expected_stock is not None
        and variant.stock != expected_stock
    ):
        raise StockChanged(variant_id=variant.pk, sku=variant.sku)

    if "product" in data:
        variant.product = data["product"]
    for name in VARIANT_FIELDS:
        if name in data:
            setattr(variant, name, data[name])
    _normalize_variant(variant)
    variant.full_clean()
    variant_validate_kind(variant.product, variant)
    written = [name for name in ("product", *VARIANT_FIELDS) if name in data]
    variant.save(update_fields=[*written, "updated_at"])
    catalog_version_bump()
    logger.info("variant changed", extra={"variant_id": variant.pk})
    return variant


# --- Importing codes -----------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    batch_id: int
    sku: str
    rows: int
    imported: int
    duplicates_in_file: int
    duplicates_in_pool: int
    # Row numbers of the first rejected duplicates (up to MAX_REPORTED_DUPLICATES).
    duplicate_rows: tuple[int, ...]

    @property
    def rejected(self) -> int:
        return self.duplicates_in_file + self.duplicates_in_pool

    def describe(self) -> str:
        """The summary staff read after an import (command and admin)."""
        text = _(
            "%(imported)d of %(rows)d codes imported into %(sku)s (batch #%(batch)d);"
            " %(rejected)d duplicates skipped (%(in_file)d repeated in the file,"
            " %(in_pool)d already in the pool)."
        ) % {
            "imported": self.imported,
            "rows": self.rows,
            "sku": self.sku,
            "batch": self.batch_id,
            "rejected": self.rejected,
            "in_file": self.duplicates_in_file,
            "in_pool": self.duplicates_in_pool,
        }
        if self.duplicate_rows:
            rows = ", ".join(str(row) for row in self.duplicate_rows)
            if self.rejected > len(self.duplicate_rows):
                text += " " + _("First duplicate rows: %(rows)s.") % {"rows": rows}
            else:
                text += " " + _("Duplicate rows: %(rows)s.") % {"rows": rows}
        return text


@dataclass(frozen=True)
class _Prepared:
    row: int
    digest: str
    code_encrypted: str
    pin_encrypted: str
    serial_encrypted: str
    last4: str
    expires_at: object


def _prepare(
    rows: list[code_files.CodeRow], progress: Progress | None
) -> tuple[list[_Prepared], list[int]]:
    """Encrypt and fingerprint each row (before any transaction opens, so
    the CPU work holds no lock); drop repeats within the file."""
    seen: set[str] = set()
    prepared: list[_Prepared] = []
    repeated: list[int] = []
    for index, row in enumerate(rows, start=1):
        normalized = row.normalized
        digest = vault.digest(normalized)
        if digest in seen:
            repeated.append(row.row)
        else:
            seen.add(digest)
            prepared.append(
                _Prepared(
                    row=row.row,
                    digest=digest,
                    code_encrypted=vault.encrypt(row.code),
                    pin_encrypted=vault.encrypt(row.pin) if row.pin else "",
                    serial_encrypted=vault.encrypt(row.serial) if row.serial else "",
                    last4=code_files.shown_suffix(normalized),
                    expires_at=row.expires_at,
                )
            )
        if progress and (index % IMPORT_BATCH_SIZE == 0 or index == len(rows)):
            progress(
                "encrypt", index % IMPORT_BATCH_SIZE or IMPORT_BATCH_SIZE, len(rows)
            )
    # Every import inserts in digest order, so two imports of overlapping
    # files take the unique index's locks in the same order and one waits
    # for the other instead of deadlocking.
    prepared.sort(key=lambda item: item.digest)
    return prepared, repeated


def _check_cost(unit_cost: Decimal | None) -> None:
    if unit_cost is None:
        return
    if (
        not unit_cost.is_finite()
        or unit_cost < 0
        or unit_cost != unit_cost.quantize(Decimal("0.01"))
        or unit_cost >= Decimal(10) ** 16
    ):
        raise ApplicationError(
            code="validation_error",
            message=_("Some fields are not valid."),
            fields={"unit_cost": [_("Give a cost of 0 or more, with two decimals.")]},
        )


def code_import(
    *,
    variant: Variant,
    data: bytes | str,
    source_name: str = "",
    supplier: str = "",
    unit_cost: Decimal | None = None,
    imported_by=None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Add the codes of ``data`` (a code file, see ``catalog.code_files``) to
    the pool of ``variant`` as one batch.

    Every row is validated first: a bad row, an empty file or a wrong
    encoding raises with the row numbers and writes nothing. Codes already
    in the pool, or repeated in the file, are skipped and counted as
    rejected duplicates, also when a concurrent import inserts the same code
    a moment earlier. The rows go in with one transaction.
    """
    if variant.fulfilment != Variant.Fulfilment.CODE:
        raise VariantNotCoded()
    _check_cost(unit_cost)
    rows = code_files.parse(data)
    prepared, repeated = _prepare(rows, progress)

    summary = _code_insert(
        variant=variant,
        prepared=prepared,
        repeated=repeated,
        source_name=source_name[:255],
        supplier=supplier.strip()[:120],
        unit_cost=unit_cost,
        imported_by=imported_by,
        progress=progress,
    )
    logger.info(
        "codes imported",
        extra={
            "variant_id": variant.pk,
            "batch_id": summary.batch_id,
            "imported": summary.imported,
            "rejected": summary.rejected,
        },
    )
    return summary


@retry_on_lock_conflict
@transaction.atomic
def _code_insert(
    *,
    variant,
    prepared: list[_Prepared],
    repeated: list[int],
    source_name,
    supplier,
    unit_cost,
    imported_by,
    progress,
) -> ImportSummary:
    batch = CodeBatch.objects.create(
        variant=variant,
        supplier=supplier,
        unit_cost=unit_cost,
        imported_by=imported_by,
        source_name=source_name,
    )
    imported = 0
    in_pool: list[int] = []
    for start in range(0, len(prepared), IMPORT_BATCH_SIZE):
        chunk = prepared[start : start + IMPORT_BATCH_SIZE]
        # INSERT IGNORE: a code already in the pool (or inserted by a
        # concurrent import, whose commit this waits for) is skipped by the
        # unique digest instead of failing the whole import.
        DigitalCode.objects.bulk_create(
            [
                DigitalCode(
                    variant=variant,
                    batch=batch,
                    code_encrypted=item.code_encrypted,
                    pin_encrypted=item.pin_encrypted,
                    serial_encrypted=item.serial_encrypted,
                    digest=item.digest,
                    last4=item.last4,
                    expires_at=item.expires_at,
                )
                for item in chunk
            ],
            ignore_conflicts=True,
        )
        saved = set(
            DigitalCode.objects.filter(
                batch=batch, digest__in=[item.digest for item in chunk]
            ).values_list("digest", flat=True)
        )
        imported += len(saved)
        in_pool += [item.row for item in chunk if item.digest not in saved]
        if progress:
            progress("save", len(chunk), len(prepared))

    batch.imported_count = imported
    batch.rejected_count = len(repeated) + len(in_pool)
    batch.save(update_fields=["imported_count", "rejected_count"])
    catalog_version_bump()
    return ImportSummary(
        batch_id=batch.pk,
        sku=variant.sku,
        rows=len(prepared) + len(repeated),
        imported=imported,
        duplicates_in_file=len(repeated),
        duplicates_in_pool=len(in_pool),
        duplicate_rows=tuple(sorted(repeated + in_pool)[:MAX_REPORTED_DUPLICATES]),
    )


# --- Key rotation ----------------------------------------------------------------


@dataclass(frozen=True)
class RotationSummary:
    rotated: int
    already_current: int


def _rotate_fields(code: DigitalCode) -> bool:
    changed = False
    for field in ("code_encrypted", "pin_encrypted", "serial_encrypted"):
        token = getattr(code, field)
        if token and not vault.is_current(token):
            try:
                setattr(code, field, vault.rotate(token))
            except vault.VaultError:
                raise vault.VaultError(
                    f"code {code.pk} cannot be decrypted with the configured keys"
                ) from None
            changed = True
    return changed


def codes_rotate_keys(
    *, batch_size: int = ROTATE_BATCH_SIZE, progress: Progress | None = None
) -> RotationSummary:
    """Re-encrypt every code, PIN and serial under the newest key.

    Works through the pool in id order, one short transaction per batch, so
    it can run beside the shop and be run again after an interruption
    (codes already under the newest key are left as they are). Raises
    ``VaultError`` naming the first code no configured key opens, leaving
    the batches before it done.
    """
    total = DigitalCode.objects.count()
    rotated = current = 0
    last_id = 0
    while True:
        with transaction.atomic():
            # Locked so two rotations started with different key lists
            # cannot overwrite each other's tokens.
            codes = list(
                DigitalCode.objects.select_for_update()
                .filter(id__gt=last_id)
                .order_by("id")
                .only("id", "code_encrypted", "pin_encrypted", "serial_encrypted")[
                    :batch_size
                ]
            )
            if not codes:
                break
            changed = [code for code in codes if _rotate_fields(code)]
            DigitalCode.objects.bulk_update(
                changed, ["code_encrypted", "pin_encrypted", "serial_encrypted"]
            )
        rotated += len(changed)
        current += len(codes) - len(changed)
        last_id = codes[-1].pk
        if progress:
            progress("rotate", len(codes), total)
    logger.info(
        "code keys rotated", extra={"rotated": rotated, "already_current": current}
    )
    return RotationSummary(rotated=rotated, already_current=current)


# --- Voiding codes ---------------------------------------------------------------

# The codes a batch void pulls: every code not yet sold.
UNSOLD = (DigitalCode.Status.AVAILABLE, DigitalCode.Status.RESERVED)


def _void(queryset, *, statuses: Iterable[str]) -> int:
    # Lock the codes first, in id order: a reservation selecting the same
    # code (FOR UPDATE SKIP LOCKED) then either took it before this void or
    # skips it, so a code being voided is never handed to a buyer; a payment
    # selling a reserved code waits for this void and then finds it void.
    statuses = list(statuses)
    ids = list(
        queryset.filter(status__in=statuses)
        .select_for_update()
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not ids:
        return 0
    count = 0
    for start in range(0, len(ids), IMPORT_BATCH_SIZE):
        count += DigitalCode.objects.filter(
            id__in=ids[start : start + IMPORT_BATCH_SIZE], status__in=statuses
        ).update(status=DigitalCode.Status.VOID)
    catalog_version_bump()
    return count


@transaction.atomic
def codes_void(*, code_ids: Iterable[int], voided_by=None) -> int:
    """Pull the available codes among ``code_ids`` from sale; reserved and
    sold codes stay with their orders. Returns how many were voided."""
    count = _void(
        DigitalCode.objects.filter(id__in=list(code_ids)),
        statuses=[DigitalCode.Status.AVAILABLE],
    )
    logger.info(
        "codes voided",
        extra={"count": count, "user_id": getattr(voided_by, "pk", None)},
    )
    return count


@transaction.atomic
def code_void_batch(*, batch: CodeBatch, voided_by=None) -> int:
    """Pull every unsold code of ``batch`` (a leaked supplier delivery) from
    sale: the available ones and those reserved by unpaid orders, which then
    find them void at payment instead of delivering a leaked code. Sold
    codes stay with their orders. Returns how many were voided."""
    count = _void(DigitalCode.objects.filter(batch=batch), statuses=UNSOLD)
    logger.info(
        "code batch voided",
        extra={
            "batch_id": batch.pk,
            "count": count,
            "user_id": getattr(voided_by, "pk", None),
        },
    )
    return count


# --- Revealing a code to staff ---------------------------------------------------

REVEAL_SCOPE = "code_reveal"
MAX_REVEAL_REASON = 500


def code_reveal(
    *, code: DigitalCode, staff, reason: str, ip: str | None
) -> CodeSecrets:
    """Show one full code to a member of staff holding ``catalog.reveal_code``.

    Every reveal that shows a code is recorded (who, which code, when, why,
    from where): the code is decrypted before the record is written, so a
    code that does not decrypt raises :class:`CodeUnreadable` and leaves no
    record. Attempts are counted
    against ``THROTTLE_CODE_REVEAL`` per member of staff: past it,
    :class:`~mithrapay.throttling.RateLimited` and no record. The code
    itself is never logged.
    """
    if not staff.is_active or not staff.is_staff:
        raise RevealNotAllowed()
    if not staff.has_perm("catalog.reveal_code"):
        raise RevealNotAllowed()
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REVEAL_REASON:
        raise ApplicationError(
            code="validation_error",
            message=_("Some fields are not valid."),
            fields={
                "reason": [_("Say why the code must be seen (at most 500 characters).")]
            },
        )
    throttling.consume(REVEAL_SCOPE, f"user:{staff.pk}")

    try:
        secrets = code_secrets(code=code)
    except vault.VaultError:
        logger.warning(
            "code reveal failed: the code does not decrypt",
            extra={"code_id": code.pk, "staff_id": staff.pk},
        )
        raise CodeUnreadable() from None
    reveal = CodeReveal.objects.create(code=code, staff=staff, reason=reason, ip=ip)
    logger.info(
        "code revealed to staff",
        extra={"code_id": code.pk, "staff_id": staff.pk, "reveal_id": reveal.pk},
    )
    return secrets


# --- Low-stock alerts ------------------------------------------------------------


@dataclass(frozen=True)
class LowStock:
    variant_id: int
    sku: str
    name: str
    level: int
    threshold: int


@transaction.atomic
def low_stock_claim(*, now=None) -> list[LowStock]:
    """Mark the variants that fell under their low-stock threshold since the
    last run and return them; re-arm those back at or above it.

    The variant rows are locked (skipping rows another run holds) before
    being marked, so two runs at the same moment report each fall once.
    """
    now = now or timezone.now()
    levels = variants_with_stock_level()
    rearmed = (
        levels.filter(low_stock_alerted_at__isnull=False)
        .exclude(stock_level__lt=F("low_stock_threshold"))
        .values_list("id", flat=True)
    )
    rearmed_ids = list(rearmed)
    if rearmed_ids:
        Variant.objects.filter(id__in=rearmed_ids).update(low_stock_alerted_at=None)

    fallen = list(
        levels.filter(
            low_stock_alerted_at__isnull=True,
            stock_level__lt=F("low_stock_threshold"),
        )
        .order_by("id")
        .values_list(
            "id", "sku", "product__name", "name", "stock_level", "low_stock_threshold"
        )
    )
    if not fallen:
        return []
    claimed = set(
        Variant.objects.select_for_update(skip_locked=True)
        .filter(id__in=[row[0] for row in fallen], low_stock_alerted_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)
    )
    Variant.objects.filter(id__in=claimed).update(low_stock_alerted_at=now)
    return [
        LowStock(
            variant_id=pk,
            sku=sku,
            name=f"{product} — {name}",
            level=level,
            threshold=threshold,
        )
        for pk, sku, product, name, level, threshold in fallen
        if pk in claimed
    ]
