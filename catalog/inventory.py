"""Moves of codes and stock between available, reserved and sold.

The orders services call these inside their own transaction; every function
here assumes it runs in one (``transaction.atomic``) and leaves the commit to
the caller. Row locks are taken in a stable order: codes of the lower
variant id first, then stock rows by variant id.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict
from functools import lru_cache, partial

from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import DigitalCode, Variant
from catalog.selectors import code_secrets, sellable_codes, unexpired
from mithrapay.errors import Conflict
from mithrapay.statements import (
    DATE_SENTINEL,
    ID_SENTINEL,
    STATEMENTS_KEPT,
    TIME_SENTINEL,
    Statement,
    date_swap,
    id_sentinels,
    saved_as,
)

logger = logging.getLogger(__name__)


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = _("Not enough of this item is available.")

    def __init__(self, *, variant_id: int, sku: str):
        super().__init__(
            _("Not enough of %(sku)s is available.") % {"sku": sku},
            fields={
                "items": [_("Variant %(id)s is out of stock.") % {"id": variant_id}]
            },
        )
        self.variant_id = variant_id


@lru_cache(maxsize=STATEMENTS_KEPT)
def _available_codes_statement(using: str, *, limit: int) -> Statement:
    """Lock up to ``limit`` sellable codes of one variant (a sentinel id) on
    a sentinel date: soonest use-by first, so codes without an expiry last.

    The ``(variant, status, use_by, id)`` index gives the rows in that order,
    so the read stops at the ``LIMIT`` and locks only the rows it returns; a
    locking read that sorted would lock every matching row first, and one
    buyer would hold the whole pool. ``SKIP LOCKED`` (MariaDB 10.6+) lets
    concurrent buyers take different codes instead of queueing on the same
    first rows. SQLite has no row locks: it serialises writers, so a plain
    select is correct there.
    """
    codes = DigitalCode.objects.filter(
        unexpired(today=DATE_SENTINEL),
        variant_id=ID_SENTINEL,
        status=DigitalCode.Status.AVAILABLE,
    ).order_by("use_by", "id")
    skip_locked = connections[using].features.has_select_for_update_skip_locked
    codes = codes.select_for_update(skip_locked=skip_locked)
    return Statement.of(codes.values("id")[:limit], using)


def codes_reserve(*, variant: Variant, quantity: int) -> list[int]:
    """Reserve ``quantity`` available, unexpired codes of ``variant``;
    soonest expiry first, codes without an expiry last. Returns their ids,
    or raises :class:`OutOfStock` having reserved nothing."""
    using = router.db_for_write(DigitalCode)
    statement, swap = codes_locking_read(variant=variant, quantity=quantity)
    return codes_take(
        variant=variant, quantity=quantity, rows=statement.rows(using, swap=swap)
    )


def codes_locking_read(*, variant: Variant, quantity: int) -> tuple[Statement, dict]:
    """The read :func:`codes_reserve` starts with, as a compiled statement
    and its swap, for a caller that runs it together with other statements
    (on the database ``router.db_for_write(DigitalCode)``); hand its rows to
    :func:`codes_take`. Two reads of one variant in one round trip would
    both return the same codes: one read per variant."""
    using = router.db_for_write(DigitalCode)
    statement = _available_codes_statement(using, limit=quantity)
    swap = {ID_SENTINEL: variant.pk, **date_swap(using, timezone.localdate())}
    return statement, swap


def codes_take(*, variant: Variant, quantity: int, rows: list[dict]) -> list[int]:
    """Reserve the codes :func:`codes_locking_read` locked (``rows``, read
    in this transaction); their ids, or :class:`OutOfStock` when fewer than
    ``quantity`` were free."""
    using = router.db_for_write(DigitalCode)
    ids = [row["id"] for row in rows]
    if len(ids) < quantity:
        raise OutOfStock(variant_id=variant.pk, sku=variant.sku)

    swap = dict(zip(id_sentinels(len(ids)), ids, strict=True))
    swap[saved_as(DigitalCode, "reserved_at", TIME_SENTINEL, using)] = saved_as(
        DigitalCode, "reserved_at", timezone.now(), using
    )
    # The codes are locked: the UPDATE changes every one of them, and goes
    # with the transaction's next statement.
    _reserving_statement(using, len(ids)).run_later(using, swap=swap)
    return ids


@lru_cache(maxsize=STATEMENTS_KEPT)
def _reserving_statement(using: str, count: int) -> Statement:
    """Mark ``count`` codes (sentinel ids) reserved at a sentinel time."""
    return Statement.updating(
        DigitalCode.objects.filter(id__in=id_sentinels(count)),
        {"status": DigitalCode.Status.RESERVED, "reserved_at": TIME_SENTINEL},
        using,
    )


def codes_release(*, code_ids: Iterable[int]) -> list[int]:
    """Return reserved codes to the pool; sold and void codes stay as they
    are. Returns the variants this refills: those that had no sellable code
    and get an unexpired one back."""
    releasing = DigitalCode.objects.filter(
        id__in=list(code_ids), status=DigitalCode.Status.RESERVED
    )
    pool = sellable_codes().filter(variant_id=OuterRef("variant_id"))
    refilled = list(
        releasing.filter(unexpired())
        .filter(~Exists(pool))
        .order_by("variant_id")
        .values_list("variant_id", flat=True)
        .distinct()
    )
    releasing.update(status=DigitalCode.Status.AVAILABLE, reserved_at=None)
    return refilled


def codes_sell(*, code_ids: Iterable[int]) -> int:
    """Mark reserved codes sold; returns how many moved."""
    return DigitalCode.objects.filter(
        id__in=list(code_ids), status=DigitalCode.Status.RESERVED
    ).update(status=DigitalCode.Status.SOLD, sold_at=timezone.now())


def codes_withdrawn(*, code_ids: Iterable[int] | QuerySet) -> list[int]:
    """Lock the codes an order holds (ids, or a subquery of them), in id
    order, and return those staff have voided since they were reserved.

    The lock makes a void of the same codes wait for the caller's commit,
    so a code found reserved here is still reserved when it is sold.
    """
    if not isinstance(code_ids, QuerySet):
        code_ids = list(code_ids)
    held = (
        DigitalCode.objects.select_for_update()
        .filter(id__in=code_ids)
        .order_by("id")
        .values_list("id", "status")
    )
    return [pk for pk, status in held if status == DigitalCode.Status.VOID]


def codes_available_exist(*, variant_id: int, using: str | None = None) -> bool:
    """Whether ``variant_id`` has a sellable code, on database ``using``
    (where the router reads codes by default)."""
    using = using or router.db_for_read(DigitalCode)
    swap = {ID_SENTINEL: variant_id, **date_swap(using, timezone.localdate())}
    return bool(_sellable_code_statement(using).rows(using, swap=swap))


@lru_cache(maxsize=4)
def _sellable_code_statement(using: str) -> Statement:
    """One sellable code of a variant (a sentinel id), on a sentinel date."""
    # No ORDER BY: any one code answers, and the model's default ordering
    # by id would make the database walk the primary key or sort the pool.
    codes = sellable_codes(today=DATE_SENTINEL).filter(variant_id=ID_SENTINEL)
    return Statement.of(codes.order_by().values("id")[:1], using)


def variants_sold_out(*, variants: Iterable[Variant]) -> list[int]:
    """The ids of the code and shipment ``variants`` with nothing left to
    sell: no sellable code, or no stock. On the primary: it runs right after
    a commit, which a replica may not have yet. One small ``EXISTS`` per code
    variant and one read for the shipped ones; an order has few lines."""
    variants = list(variants)
    sold_out = [
        variant.pk
        for variant in variants
        if variant.fulfilment == Variant.Fulfilment.CODE
        and not codes_available_exist(variant_id=variant.pk, using=DEFAULT_DB_ALIAS)
    ]
    shipped = [
        variant.pk
        for variant in variants
        if variant.fulfilment == Variant.Fulfilment.SHIPMENT
    ]
    if shipped:
        sold_out += (
            Variant.objects.using(DEFAULT_DB_ALIAS)
            .filter(pk__in=shipped, stock__lte=0)
            .values_list("pk", flat=True)
        )
    return sorted(sold_out)


def after_commit_if_sold_out(
    *, variants: Iterable[Variant], then: Callable[[], None]
) -> None:
    """Once the open transaction commits, call ``then()`` if any of the code
    and shipment ``variants`` has nothing left to sell, read as
    :func:`variants_sold_out` reads it, after the commit: two buyers taking
    the last two codes at once each see the other's code as available until
    that one commits, and whichever commits last sees both gone.

    On MariaDB the code variants' reads go in the ``COMMIT``'s round trip
    (``Statement.rows_after_commit``). Outside a transaction, now.
    """
    using = DEFAULT_DB_ALIAS
    variants = list(variants)
    sold_out = []

    def seen(variant_id: int, rows: list[dict]) -> None:
        if not rows:
            sold_out.append(variant_id)

    statement = _sellable_code_statement(using)
    for variant in variants:
        if variant.fulfilment == Variant.Fulfilment.CODE:
            swap = {ID_SENTINEL: variant.pk, **date_swap(using, timezone.localdate())}
            statement.rows_after_commit(using, partial(seen, variant.pk), swap=swap)
    shipped = [
        variant
        for variant in variants
        if variant.fulfilment == Variant.Fulfilment.SHIPMENT
    ]

    def decide() -> None:
        # Runs after the reads' callbacks, which were registered first.
        if sold_out or (shipped and variants_sold_out(variants=shipped)):
            then()

    transaction.on_commit(decide, using=using)


def stock_reserve(*, variant: Variant, quantity: int) -> None:
    """Take ``quantity`` units of a physical variant, never below zero.

    One conditional UPDATE: the row lock it takes makes concurrent buyers
    queue, and the ``stock >= quantity`` condition is re-checked on the
    latest committed value, so two buyers cannot both take the last unit.
    """
    taken = Variant.objects.filter(pk=variant.pk, stock__gte=quantity).update(
        stock=F("stock") - quantity
    )
    if not taken:
        raise OutOfStock(variant_id=variant.pk, sku=variant.sku)


def stock_release(*, variant_id: int, quantity: int) -> int:
    """Put ``quantity`` units back; returns the units on hand before.

    The UPDATE locks the row until the caller commits, so the value read
    back after it is this transaction's own and nobody else's.
    """
    Variant.objects.filter(pk=variant_id).update(stock=F("stock") + quantity)
    after = Variant.objects.values_list("stock", flat=True).get(pk=variant_id)
    return after - quantity


def codes_plaintext(*, code_ids: Iterable[int]) -> dict[int, dict]:
    """The decrypted code, PIN, serial and expiry of sold codes, by id.

    For showing a paid order's codes to its owner; callers check ownership.
    Raises ``VaultError`` if a code cannot be decrypted rather than showing
    anything in its place.
    """
    codes = DigitalCode.objects.filter(
        id__in=list(code_ids), status=DigitalCode.Status.SOLD
    ).only("id", "code_encrypted", "pin_encrypted", "serial_encrypted", "expires_at")
    return {
        code.pk: {**asdict(code_secrets(code=code)), "expires_at": code.expires_at}
        for code in codes
    }


def codes_restock(*, code_ids: Iterable[int]) -> int:
    """Put sold codes back in the pool (a refund of codes never shown)."""
    return DigitalCode.objects.filter(
        id__in=list(code_ids), status=DigitalCode.Status.SOLD
    ).update(status=DigitalCode.Status.AVAILABLE, reserved_at=None, sold_at=None)
