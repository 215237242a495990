"""Writes of the orders app: creation with reservation, cancel, expiry,
fulfilment and the customer's subscriptions.

Every state change of an order goes through :func:`_transition`, which
refuses illegal moves and records an :class:`OrderEvent`.
"""

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from catalog import inventory
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.customer_fields import clean_inputs
from catalog.models import DigitalCode, Variant
from mithrapay import site_settings
from mithrapay.errors import ApplicationError, Conflict
from mithrapay.statements import (
    ID_SENTINEL,
    Statement,
    insert_later,
    insert_with_parent,
    rows_together,
)
from mithrapay.transactions import retry_on_lock_conflict
from orders.models import (
    IdempotencyKey,
    ItemCode,
    Order,
    OrderEvent,
    OrderItem,
    Subscription,
)

logger = logging.getLogger(__name__)

MAX_LINES = 20
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
NUMBER_LENGTH = 8

Status = Order.Status
Event = OrderEvent.Kind
Actor = OrderEvent.Actor

# The only legal moves. Expired and cancelled orders can still become paid:
# a payment that arrives late re-reserves what it can (payments app).
TRANSITIONS: dict[str, set[str]] = {
    Status.PENDING_PAYMENT: {Status.PAID, Status.CANCELLED, Status.EXPIRED},
    Status.EXPIRED: {Status.PAID},
    Status.CANCELLED: {Status.PAID},
    Status.PAID: {Status.PARTIALLY_FULFILLED, Status.FULFILLED, Status.REFUNDED},
    Status.PARTIALLY_FULFILLED: {Status.FULFILLED, Status.REFUNDED},
    Status.FULFILLED: {Status.REFUNDED},
    Status.REFUNDED: set(),
}
TIMESTAMPS = {
    Status.PAID: "paid_at",
    Status.PARTIALLY_FULFILLED: "partially_fulfilled_at",
    Status.FULFILLED: "fulfilled_at",
    Status.CANCELLED: "cancelled_at",
    Status.EXPIRED: "expired_at",
    Status.REFUNDED: "refunded_at",
}


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_message = _("The order cannot move to that state from its current one.")


class TooManyPendingOrders(Conflict):
    code = "too_many_pending_orders"
    default_message = _("Pay or cancel an unpaid order before starting another.")


class VariantUnavailable(ApplicationError):
    code = "variant_unavailable"
    default_message = _("This item is not for sale.")


class OrderInvalid(ApplicationError):
    code = "validation_error"
    default_message = _("Some fields are not valid.")


def _record(order, kind, *, actor, user=None, message="", data=None) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, kind=kind, actor=actor, user=user, message=message, data=data or {}
    )


def _transition(order: Order, to: str, *, actor: str, user=None, message="", data=None):
    """Move a locked ``order`` to ``to`` and record the event, or refuse."""
    if to not in TRANSITIONS[order.status]:
        raise InvalidTransition(
            _("An order that is %(status)s cannot become %(to)s.")
            % {"status": Status(order.status).label, "to": Status(to).label}
        )
    previous = order.status
    order.status = to
    fields = ["status", "updated_at"]
    if to in TIMESTAMPS:
        setattr(order, TIMESTAMPS[to], timezone.now())
        fields.append(TIMESTAMPS[to])
    order.save(update_fields=fields)
    _record(
        order,
        to,
        actor=actor,
        user=user,
        message=message,
        data={"from": previous, **(data or {})},
    )
    logger.info(
        "order moved",
        extra={"order_id": order.pk, "from_status": previous, "to_status": to},
    )


def _new_number() -> str:
    return "MP-" + "".join(
        secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH)
    )


def _validate_lines(lines: list[dict], variants: dict[int, Variant]) -> list[dict]:
    """Check each line against its variant; returns the lines with cleaned
    inputs. Raises one error naming every bad line."""
    errors: dict[str, dict] = {}
    cleaned = []
    for index, line in enumerate(lines):
        variant = variants.get(line["variant"])
        problems: dict[str, list] = {}
        if variant is None or not variant.is_active or not variant.product.is_active:
            problems["variant"] = [_("This item is not for sale.")]
        else:
            if line["quantity"] > variant.max_per_order:
                problems["quantity"] = [
                    _("At most %(limit)s of this item per order.")
                    % {"limit": variant.max_per_order}
                ]
            try:
                inputs = clean_inputs(variant.customer_fields, line.get("inputs"))
            except ValidationError as exc:
                problems["inputs"] = (
                    exc.message_dict if hasattr(exc, "error_dict") else exc.messages
                )
            else:
                cleaned.append({**line, "inputs": inputs, "obj": variant})
        if problems:
            errors[str(index)] = problems
    if errors:
        raise OrderInvalid(fields={"items": errors})
    return cleaned


@retry_on_lock_conflict
def order_create(
    *,
    user: User,
    lines: list[dict],
    shipping_address: dict | None = None,
    note: str = "",
    idempotency_key: IdempotencyKey | None = None,
    on_placed: Callable[[Order], None] | None = None,
) -> Order:
    """Create an order and reserve everything it needs, all or nothing.

    ``lines`` are ``{"variant": id, "quantity": n, "inputs": {...}}`` with
    distinct variants (the serializer checks shape and types). Prices and
    totals come from the catalog, never from the client. ``on_placed(order)``
    runs inside the order's transaction once everything is reserved, so what
    it writes commits with the order or not at all (the API stores the
    answer to an idempotent request there).
    """
    if not 1 <= len(lines) <= MAX_LINES:
        raise OrderInvalid(fields={"items": [_("Order between 1 and 20 lines.")]})
    variants = catalog_selectors.variants_by_id(ids=[line["variant"] for line in lines])
    lines = _validate_lines(lines, variants)
    needs_shipping = any(
        line["obj"].fulfilment == Variant.Fulfilment.SHIPMENT for line in lines
    )
    if needs_shipping and not shipping_address:
        raise OrderInvalid(
            fields={
                "shipping_address": [_("A shipping address is needed for this order.")]
            }
        )

    for _attempt in range(3):
        number = _new_number()
        try:
            with transaction.atomic():
                order = _create_and_reserve(
                    user=user,
                    number=number,
                    lines=lines,
                    shipping_address=shipping_address if needs_shipping else None,
                    note=note,
                    idempotency_key=idempotency_key,
                )
                if on_placed is not None:
                    on_placed(order)
            break
        except IntegrityError:
            # Eight characters from 31 make a clash with an existing number
            # rare; draw again. Any other integrity error is a real fault.
            if not Order.objects.filter(number=number).exists():
                raise
    else:
        raise Conflict(code="order_number_exhausted")

    logger.info("order created", extra={"order_id": order.pk, "user_id": user.pk})
    return order


@lru_cache(maxsize=4)
def _customer_lock_statement(using: str) -> Statement:
    """Lock the customer's row (a sentinel id) and count their unpaid orders,
    in one round trip, compiled once (mithrapay.statements).

    The count is a plain subquery: it takes no lock, and MariaDB runs it
    after the row lock is granted, so under READ COMMITTED it sees every
    checkout of this customer that committed while this one waited.
    """
    pending = (
        Order.objects.filter(user_id=OuterRef("pk"), status=Status.PENDING_PAYMENT)
        .order_by()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    customer = (
        User.objects.select_for_update()
        .filter(pk=ID_SENTINEL)
        .annotate(pending=Coalesce(Subquery(pending), 0))
    )
    return Statement.of(customer.values("pk", "pending"), using)


def _create_and_reserve(
    *, user, number, lines, shipping_address, note, idempotency_key
):
    # The customer's row serialises their concurrent checkouts, so the
    # unpaid-order cap holds even for simultaneous requests. The code lines'
    # locking reads follow it in the same round trip: they skip locked codes
    # and never wait, and a checkout over the cap releases what they locked
    # when it rolls back.
    using = router.db_for_write(Order)
    code_lines = _code_lines_read_together(lines, using)
    customer, *code_rows = rows_together(
        using,
        [
            (_customer_lock_statement(using), {ID_SENTINEL: user.pk}),
            *(
                inventory.codes_locking_read(
                    variant=line["obj"], quantity=line["quantity"]
                )
                for line in code_lines
            ),
        ],
    )
    if not customer:
        raise User.DoesNotExist()
    if customer[0]["pending"] >= settings.MAX_PENDING_ORDERS:
        raise TooManyPendingOrders()

    # Reserve before inserting the items: an item's foreign key takes a
    # shared lock on its variant row, and a shared lock held while waiting
    # for the stock row's exclusive lock would deadlock two buyers of the
    # same physical variant.
    codes_read = {
        line["obj"].pk: rows for line, rows in zip(code_lines, code_rows, strict=True)
    }
    reserved = _reserve(lines, codes_read=codes_read)
    subtotal = sum(
        (line["obj"].price * line["quantity"] for line in lines), Decimal("0.00")
    )
    order = Order(
        number=number,
        user=user,
        subtotal=subtotal,
        total=subtotal,
        currency=settings.SHOP_CURRENCY,
        expires_at=timezone.now()
        + timedelta(minutes=site_settings.order_reservation_minutes()),
        shipping_address=shipping_address,
        note=note,
        idempotency_key=idempotency_key,
    )
    # The order and its items go in one round trip on MariaDB.
    items = insert_with_parent(
        order,
        [
            OrderItem(
                variant=line["obj"],
                product_name=line["obj"].product.name,
                variant_name=line["obj"].name,
                sku=line["obj"].sku,
                kind=line["obj"].product.kind,
                fulfilment=line["obj"].fulfilment,
                unit_price=line["obj"].price,
                quantity=line["quantity"],
                line_total=line["obj"].price * line["quantity"],
                duration_days=line["obj"].duration_days,
                inputs=line["inputs"],
            )
            for line in lines
        ],
        "order",
    )
    _link_codes(order, items, reserved)
    _items_loaded(order, items)
    codes = sum(len(ids) for ids in reserved.values())
    # Written with the transaction's next statement or its COMMIT.
    insert_later(
        [
            OrderEvent(
                order=order,
                kind=Event.RESERVED,
                actor=Actor.SYSTEM,
                data={"codes": codes},
            ),
            OrderEvent(
                order=order, kind=Event.CREATED, actor=Actor.CUSTOMER, user=user
            ),
        ]
    )
    return order


def _code_lines_read_together(lines: list[dict], using: str) -> list[dict]:
    """The code lines whose locking reads can run with the customer's lock:
    all of them, when their variants are distinct (two reads of one variant
    in one round trip would find the same codes) and codes live on the
    order's database."""
    code_lines = [
        line for line in lines if line["obj"].fulfilment == Variant.Fulfilment.CODE
    ]
    variant_ids = {line["obj"].pk for line in code_lines}
    if len(variant_ids) < len(code_lines) or router.db_for_write(DigitalCode) != using:
        return []
    return code_lines


def _reserve(
    lines: list[dict], *, codes_read: dict[int, list[dict]] | None = None
) -> dict[int, list[int]]:
    """Reserve the codes and stock of every line, in variant-id order so
    concurrent checkouts lock rows in the same order. ``codes_read`` holds
    the rows of the code lines' locking reads already run in this
    transaction, by variant id. Returns the code ids per variant."""
    codes_read = codes_read or {}
    reserved: dict[int, list[int]] = {}
    drawn = []
    for line in sorted(lines, key=lambda line: line["obj"].pk):
        variant = line["obj"]
        if variant.pk in codes_read:
            reserved[variant.pk] = inventory.codes_take(
                variant=variant, quantity=line["quantity"], rows=codes_read[variant.pk]
            )
            drawn.append(variant)
        elif variant.fulfilment == Variant.Fulfilment.CODE:
            reserved[variant.pk] = inventory.codes_reserve(
                variant=variant, quantity=line["quantity"]
            )
            drawn.append(variant)
        elif variant.fulfilment == Variant.Fulfilment.SHIPMENT:
            inventory.stock_reserve(variant=variant, quantity=line["quantity"])
            drawn.append(variant)
    _bump_when_sold_out(drawn)
    return reserved


def _bump_when_sold_out(variants: list[Variant]) -> None:
    """After the commit, make cached catalog pages stale if any of
    ``variants`` has nothing left to sell.

    Decided after the commit, not inside the transaction: two buyers taking
    the last two codes at once each still see the other's code as available
    until that one commits, so neither would notice the pool emptying. Read
    after each commit, whichever commits last sees both and bumps.
    """
    if variants:
        inventory.after_commit_if_sold_out(
            variants=variants, then=catalog_services.catalog_version_bump
        )


def _link_codes(order: Order, items: list[OrderItem], reserved: dict) -> None:
    """Tie each reserved code to its item, with the transaction's next
    statement or its COMMIT. ``items`` carry their ids where the database
    returns them from a bulk insert (MariaDB 10.5+, SQLite)."""
    if any(item.pk is None for item in items):
        items = list(
            order.items.filter(variant_id__in=reserved).only("id", "variant_id")
        )
    insert_later(
        [
            ItemCode(item_id=item.pk, code_id=code_id)
            for item in items
            for code_id in reserved.get(item.variant_id, ())
        ]
    )


def _items_loaded(order: Order, items: list[OrderItem]) -> None:
    """Let ``order.items.all()`` answer from the items just inserted, as a
    ``prefetch_related("items")`` would, instead of reading them back."""
    if any(item.pk is None for item in items):
        return
    loaded = order.items.all()
    loaded._result_cache = sorted(items, key=lambda item: item.pk)
    loaded._prefetch_done = True
    order._prefetched_objects_cache = {"items": loaded}


def _release(order: Order) -> None:
    """Give back what a locked, unpaid ``order`` holds.

    Cached catalog pages go stale only when this refills a variant that had
    nothing left, so the expiry of abandoned checkouts keeps the cache.
    Known limit: a code variant's "nothing left" is read without locks, so a
    release racing a checkout that takes the variant's last other code can
    miss the refill and the catalog may show it sold out until the cached
    page expires.
    """
    links = ItemCode.objects.filter(item__order=order)
    code_ids = list(links.values_list("code_id", flat=True))
    refilled = bool(inventory.codes_release(code_ids=code_ids))
    links.delete()
    items = order.items.exclude(status=OrderItem.Status.RELEASED).order_by("variant_id")
    for item in items:
        if item.fulfilment == Variant.Fulfilment.SHIPMENT:
            before = inventory.stock_release(
                variant_id=item.variant_id, quantity=item.quantity
            )
            refilled = refilled or before <= 0
    order.items.update(status=OrderItem.Status.RELEASED)
    if refilled:
        catalog_services.catalog_version_bump()


def _lock(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


@retry_on_lock_conflict
def order_cancel(*, order: Order, user: User, by_staff: bool = False) -> Order:
    """Cancel an unpaid order and release what it reserved."""
    with transaction.atomic():
        # Locking the order first makes cancel, expiry and payment of the
        # same order take turns; each re-checks the status it finds.
        locked = _lock(order.pk)
        if locked.status != Status.PENDING_PAYMENT:
            raise InvalidTransition(_("Only an unpaid order can be cancelled."))
        _release(locked)
        _transition(
            locked,
            Status.CANCELLED,
            actor=Actor.STAFF if by_staff else Actor.CUSTOMER,
            user=user,
        )
    return locked


@retry_on_lock_conflict
def order_expire(*, order_id: int, now=None) -> bool:
    """Expire one overdue unpaid order; False when another process got there
    first or it is no longer overdue."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(order_id)
        if locked.status != Status.PENDING_PAYMENT or locked.expires_at > now:
            return False
        _release(locked)
        _transition(locked, Status.EXPIRED, actor=Actor.SYSTEM)
    return True


def orders_expire_overdue(*, now=None, batch_size: int = 200) -> int:
    """Expire every overdue unpaid order, in batches; safe to run twice at
    once (each order is re-checked under its lock). Returns how many this
    run expired."""
    now = now or timezone.now()
    expired = 0
    last_id = 0
    while True:
        ids = list(
            Order.objects.filter(
                status=Status.PENDING_PAYMENT, expires_at__lte=now, id__gt=last_id
            )
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return expired
        for order_id in ids:
            expired += order_expire(order_id=order_id, now=now)
        last_id = ids[-1]


def order_add_note(*, order: Order, user: User, message: str) -> OrderEvent:
    return _record(order, Event.NOTE, actor=Actor.STAFF, user=user, message=message)


def _subscription_account(item: OrderItem) -> str:
    for name in ("account_email", "account_username", "account_phone"):
        if item.inputs.get(name):
            return str(item.inputs[name]).lower()
    return ""


@transaction.atomic
def subscription_grant(*, item: OrderItem) -> Subscription:
    """Start, or extend, the customer's subscription for a fulfilled item.

    Buying the same product again for the same account extends from the
    current end when it has not passed yet, otherwise from now.
    """
    order = item.order
    product = item.variant.product
    days = item.duration_days or item.variant.duration_days or 0
    length = timedelta(days=days * item.quantity)
    account = _subscription_account(item)
    now = timezone.now()

    # The customer's row serialises two grants for the same plan, which would
    # otherwise both start a new subscription instead of one extending.
    User.objects.select_for_update().only("id").get(pk=order.user_id)
    current = (
        Subscription.objects.select_for_update()
        .filter(
            user_id=order.user_id,
            product=product,
            account=account,
            status=Subscription.Status.ACTIVE,
            ends_at__gt=now,
        )
        .order_by("-ends_at")
        .first()
    )
    if current is not None:
        current.ends_at += length
        current.item = item
        current.reminder_sent_for = None
        current.save(
            update_fields=["ends_at", "item", "reminder_sent_for", "updated_at"]
        )
        logger.info("subscription extended", extra={"subscription_id": current.pk})
        return current
    subscription = Subscription.objects.create(
        user_id=order.user_id,
        item=item,
        product=product,
        service=product.brand,
        plan=item.variant_name,
        account=account,
        starts_at=now,
        ends_at=now + length,
    )
    logger.info("subscription started", extra={"subscription_id": subscription.pk})
    return subscription


def order_codes_mark_revealed(*, order: Order) -> int:
    """Record the first time the owner was shown the order's codes."""
    return ItemCode.objects.filter(item__order=order, revealed_at__isnull=True).update(
        revealed_at=timezone.now()
    )


# --- Payment and fulfilment ---------------------------------------------------
# Called by the payments app inside its own transaction, with the order row
# already locked through order_lock().

FINISHED_ITEM = {OrderItem.Status.DONE, OrderItem.Status.SHIPPED}


class ItemNotWaiting(Conflict):
    code = "item_not_waiting"
    default_message = _("This item is not waiting for fulfilment.")


def order_lock(*, order_id: int) -> Order:
    """Lock an order row. Every writer that touches an order and its payment
    locks the order first, then the payment."""
    return _lock(order_id)


def order_pay(*, order: Order, payment_id: int) -> str:
    """Record a verified payment on a locked order and fulfil what can be.

    Returns ``"paid"``; ``"already_paid"`` when the order was paid by another
    attempt; ``"unavailable"`` when the order cannot get everything it
    ordered: a late payment (the order expired or was cancelled) whose items
    are gone, or a code staff voided while the order held it with none left
    to replace it (the order is then cancelled). The caller marks the
    payment for refund in the last two cases.
    """
    if order.status == Status.PENDING_PAYMENT:
        if not _replace_withdrawn_codes(order):
            _release(order)
            _transition(
                order,
                Status.CANCELLED,
                actor=Actor.SYSTEM,
                message="a code of this order was withdrawn and none is left",
                data={"payment": payment_id},
            )
            return "unavailable"
    elif order.status in (Status.EXPIRED, Status.CANCELLED):
        # A re-reservation takes only available codes and keeps them locked
        # until the commit, so no code it holds can be voided before the sale.
        if not _reserve_again(order):
            _record(
                order,
                Event.PAYMENT,
                actor=Actor.SYSTEM,
                message="late payment; the items are no longer available",
                data={"payment": payment_id},
            )
            return "unavailable"
    else:
        return "already_paid"

    _transition(order, Status.PAID, actor=Actor.SYSTEM, data={"payment": payment_id})
    order.items.update(status=OrderItem.Status.PENDING)
    _fulfil(order)
    transaction.on_commit(lambda: _notify("notify_order_paid", order.pk))
    return "paid"


def _reserve_again(order: Order) -> bool:
    """Reserve a released order's items again, all or nothing."""
    items = list(order.items.select_related("variant"))
    lines = [{"obj": item.variant, "quantity": item.quantity} for item in items]
    try:
        with transaction.atomic():
            reserved = _reserve(lines)
            _link_codes(order, items, reserved)
    except inventory.OutOfStock:
        return False
    codes = sum(len(ids) for ids in reserved.values())
    _record(order, Event.RESERVED, actor=Actor.SYSTEM, data={"codes": codes})
    return True


def _replace_withdrawn_codes(order: Order) -> bool:
    """Swap every code staff voided while the locked ``order`` held it (a
    leaked supplier batch) for a fresh code of the same variant, all or
    nothing, so a voided code is never sold. False when the pool cannot
    cover them."""
    held = ItemCode.objects.filter(item__order=order).values("code_id")
    withdrawn = inventory.codes_withdrawn(code_ids=held)
    if not withdrawn:
        return True

    wanted = Counter(
        ItemCode.objects.filter(code_id__in=withdrawn).values_list("item_id", flat=True)
    )
    items = sorted(
        order.items.select_related("variant").filter(pk__in=wanted),
        key=lambda item: (item.variant_id, item.pk),
    )
    try:
        with transaction.atomic():
            fresh = [
                ItemCode(item_id=item.pk, code_id=code_id)
                for item in items
                for code_id in inventory.codes_reserve(
                    variant=item.variant, quantity=wanted[item.pk]
                )
            ]
            ItemCode.objects.filter(code_id__in=withdrawn).delete()
            ItemCode.objects.bulk_create(fresh)
            _bump_when_sold_out([item.variant for item in items])
    except inventory.OutOfStock:
        logger.warning(
            "withdrawn codes not replaceable",
            extra={"order_id": order.pk, "count": len(withdrawn)},
        )
        return False

    _record(
        order,
        Event.RESERVED,
        actor=Actor.SYSTEM,
        message="withdrawn codes replaced",
        data={"codes": len(fresh), "replaced": len(withdrawn)},
    )
    logger.warning(
        "withdrawn codes replaced",
        extra={"order_id": order.pk, "count": len(withdrawn)},
    )
    return True


def _fulfil(order: Order) -> None:
    """Deliver what needs no person: codes become sold and their items done;
    manual and shipment items wait for staff."""
    now = timezone.now()
    for item in order.items.select_related("variant__product").order_by("id"):
        if item.fulfilment == Variant.Fulfilment.CODE:
            code_ids = list(item.codes.values_list("code_id", flat=True))
            inventory.codes_sell(code_ids=code_ids)
            item.status = OrderItem.Status.DONE
            item.fulfilled_at = now
            item.save(update_fields=["status", "fulfilled_at"])
            if item.kind == "subscription":
                subscription_grant(item=item)
        else:
            item.status = OrderItem.Status.AWAITING
            item.save(update_fields=["status"])
    _settle_fulfilment(order)


def _settle_fulfilment(order: Order) -> None:
    statuses = list(order.items.values_list("status", flat=True))
    finished = [status in FINISHED_ITEM for status in statuses]
    if all(finished):
        _transition(order, Status.FULFILLED, actor=Actor.SYSTEM)
    elif any(finished) and order.status == Status.PAID:
        _transition(order, Status.PARTIALLY_FULFILLED, actor=Actor.SYSTEM)


def _waiting_item(item_id: int, fulfilment: str) -> tuple[Order, OrderItem]:
    order_id = OrderItem.objects.values_list("order_id", flat=True).get(pk=item_id)
    order = _lock(order_id)
    item = order.items.select_related("variant__product").get(pk=item_id)
    if item.fulfilment != fulfilment or item.status != OrderItem.Status.AWAITING:
        raise ItemNotWaiting()
    return order, item


@retry_on_lock_conflict
def fulfil_manual_item(*, item: OrderItem, staff: User, details: dict) -> OrderItem:
    """Record that staff activated a manual item (the plan on the customer's
    account, say) and move the order on."""
    with transaction.atomic():
        order, item = _waiting_item(item.pk, Variant.Fulfilment.MANUAL)
        item.status = OrderItem.Status.DONE
        item.fulfilment_details = details
        item.fulfilled_at = timezone.now()
        item.fulfilled_by = staff
        item.save(
            update_fields=[
                "status",
                "fulfilment_details",
                "fulfilled_at",
                "fulfilled_by",
            ]
        )
        if item.kind == "subscription":
            subscription_grant(item=item)
        _record(
            order,
            Event.ITEM_FULFILLED,
            actor=Actor.STAFF,
            user=staff,
            data={"item": item.pk, "sku": item.sku},
        )
        _settle_fulfilment(order)
        transaction.on_commit(lambda: _notify("notify_item_activated", item.pk))
    return item


@retry_on_lock_conflict
def item_mark_shipped(
    *, item: OrderItem, staff: User, tracking_number: str
) -> OrderItem:
    if not tracking_number.strip():
        raise OrderInvalid(fields={"tracking_number": [_("Give a tracking number.")]})
    with transaction.atomic():
        order, item = _waiting_item(item.pk, Variant.Fulfilment.SHIPMENT)
        item.status = OrderItem.Status.SHIPPED
        item.tracking_number = tracking_number.strip()
        item.fulfilled_at = timezone.now()
        item.fulfilled_by = staff
        item.save(
            update_fields=["status", "tracking_number", "fulfilled_at", "fulfilled_by"]
        )
        _record(
            order,
            Event.ITEM_SHIPPED,
            actor=Actor.STAFF,
            user=staff,
            data={"item": item.pk, "tracking_number": item.tracking_number},
        )
        _settle_fulfilment(order)
        transaction.on_commit(lambda: _notify("notify_item_shipped", item.pk))
    return item


def order_codes_revealed(*, order: Order) -> bool:
    return ItemCode.objects.filter(
        item__order=order, revealed_at__isnull=False
    ).exists()


def order_refund(*, order: Order, staff: User, reason: str, restock_codes: bool) -> int:
    """Mark a locked, paid order refunded. With ``restock_codes`` the codes
    its owner was never shown go back to the pool; shown codes stay sold.
    Returns how many codes went back."""
    restocked = 0
    if restock_codes:
        unseen = ItemCode.objects.filter(item__order=order, revealed_at__isnull=True)
        code_ids = list(unseen.values_list("code_id", flat=True))
        restocked = inventory.codes_restock(code_ids=code_ids)
        unseen.delete()
    _transition(
        order,
        Status.REFUNDED,
        actor=Actor.STAFF,
        user=staff,
        message=reason,
        data={"restocked_codes": restocked},
    )
    if restocked:
        catalog_services.catalog_version_bump()
    transaction.on_commit(lambda: _notify("notify_refund", order.pk))
    return restocked


def order_note_payment(*, order: Order, message: str, data: dict) -> None:
    _record(order, Event.PAYMENT, actor=Actor.SYSTEM, message=message, data=data)


def _notify(task_name: str, object_id: int) -> None:
    """Queue a customer notification. A queueing failure is logged and never
    undoes the change that was just committed."""
    from orders import tasks

    try:
        getattr(tasks, task_name).delay(object_id)
    except Exception:
        logger.exception("notification not queued", extra={"task": task_name})


@transaction.atomic
def subscriptions_due_reminder(*, now=None) -> list[int]:
    """Claim the active subscriptions ending within ``RENEWAL_REMINDER_DAYS``
    whose reminder for this end date was not sent yet; returns their ids.

    The claim (``reminder_sent_for``) is written before anything is sent, so
    two runs at once, or a daily run and the command, remind once.
    """
    now = now or timezone.now()
    horizon = now + timedelta(days=site_settings.renewal_reminder_days())
    due = list(
        Subscription.objects.select_for_update(skip_locked=True)
        .filter(
            status=Subscription.Status.ACTIVE, ends_at__gt=now, ends_at__lte=horizon
        )
        .exclude(reminder_sent_for=models.F("ends_at"))
        .order_by("id")
        .values_list("id", "ends_at")
    )
    for subscription_id, ends_at in due:
        Subscription.objects.filter(pk=subscription_id).update(
            reminder_sent_for=ends_at
        )
    return [subscription_id for subscription_id, _ends in due]


def renewal_reminders_send(*, now=None) -> int:
    ids = subscriptions_due_reminder(now=now)
    for subscription_id in ids:
        _notify("notify_renewal", subscription_id)
    return len(ids)


# --- The back office ----------------------------------------------------------

# Notifications staff may send again, and the order or item state each needs.
RESENDABLE = {
    "order_paid": "notify_order_paid",
    "item_activated": "notify_item_activated",
    "item_shipped": "notify_item_shipped",
    "refund": "notify_refund",
}


class NotificationNotApplicable(Conflict):
    code = "notification_not_applicable"
    default_message = _("This notification does not fit the order's state.")


def resendable_notifications(*, order: Order) -> list[tuple[str, int | None]]:
    """(notification, item id or None) pairs that fit ``order`` now."""
    choices: list[tuple[str, int | None]] = []
    if order.status in (
        Status.PAID,
        Status.PARTIALLY_FULFILLED,
        Status.FULFILLED,
    ):
        choices.append(("order_paid", None))
    if order.status == Status.REFUNDED:
        choices.append(("refund", None))
    for item_id, fulfilment, status in order.items.order_by("id").values_list(
        "id", "fulfilment", "status"
    ):
        if fulfilment == Variant.Fulfilment.MANUAL and status == OrderItem.Status.DONE:
            choices.append(("item_activated", item_id))
        if status == OrderItem.Status.SHIPPED:
            choices.append(("item_shipped", item_id))
    return choices


@transaction.atomic
def order_resend_notification(
    *, order: Order, user: User, notification: str, item_id: int | None = None
) -> OrderEvent:
    """Queue a customer notification again (the customer lost the email or
    text) and record who asked. Refuses one that does not fit the order."""
    if (notification, item_id) not in resendable_notifications(order=order):
        raise NotificationNotApplicable()
    event = _record(
        order,
        Event.NOTIFICATION_RESENT,
        actor=Actor.STAFF,
        user=user,
        data={"notification": notification, "item": item_id},
    )
    target = item_id if item_id is not None else order.pk
    transaction.on_commit(lambda: _notify(RESENDABLE[notification], target))
    logger.info(
        "notification resent",
        extra={"order_id": order.pk, "notification": notification},
    )
    return event
