"""Payments: starting an attempt, settling the gateway's answer exactly once,
refunds and reconciliation.

A network call to a gateway never runs while a row lock is held: the
gateway is asked first, then one short transaction locks the order and the
payment (always in that order) and records the answer only if the payment is
still ``initiated``. Replays, duplicates and races therefore settle once.
"""

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from mithrapay.errors import ApplicationError, Conflict
from mithrapay.transactions import retry_on_lock_conflict
from orders import services as order_services
from orders.models import Order
from payments import gateways
from payments.gateways import GatewayError, VerifyResult
from payments.models import Payment

logger = logging.getLogger(__name__)

PAYABLE = Order.Status.PENDING_PAYMENT
# Attempts asked per reconciliation run; the rest wait for the next run.
RECONCILE_BATCH = 500
REFUNDABLE = {
    Order.Status.PAID,
    Order.Status.PARTIALLY_FULFILLED,
    Order.Status.FULFILLED,
}


class UnknownGateway(ApplicationError):
    code = "unknown_gateway"
    default_message = _("This payment gateway is not available.")


class UnsupportedCurrency(ApplicationError):
    """Raised with a message naming the currencies the gateway takes."""

    code = "unsupported_currency"


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    default_message = _("This order can no longer be paid.")


class GatewayUnavailable(ApplicationError):
    status = 502
    code = "gateway_unavailable"
    default_message = _("The payment gateway did not answer. Try again shortly.")


class RefundNotAllowed(ApplicationError):
    status = 403
    code = "permission_denied"
    default_message = _("You do not have permission to refund payments.")


class RefundNeedsConfirmation(Conflict):
    code = "refund_needs_confirmation"
    default_message = _(
        "The customer has already seen codes of this order; confirm the refund."
    )


class NotRefundable(Conflict):
    code = "not_refundable"
    default_message = _("Only a succeeded payment can be refunded.")


@dataclass(frozen=True)
class Outcome:
    """What the customer is told after the gateway sends them back.

    ``paid``: the order is paid. ``duplicate``: another attempt had already
    paid the order; this one will be refunded. ``unavailable``: the payment
    arrived after the order expired and its items are gone; it will be
    refunded. ``failed``, ``cancelled``: not paid. ``pending``: the gateway did
    not answer yet; reconciliation settles it. ``unknown``: no such payment.
    """

    status: str
    order_number: str = ""


def _exchange(payment: Payment, step: str, data: dict) -> None:
    payment.exchanges = [
        *payment.exchanges,
        {"step": step, "at": timezone.now().isoformat(), **data},
    ]


def payment_start(
    *, order: Order, user: User, gateway_name: str, base_url: str
) -> tuple[Payment, str]:
    """Open a payment attempt for the customer's unpaid order and return it
    with the gateway page to send the customer to."""
    gateway = gateways.get(gateway_name)
    if gateway is None:
        raise UnknownGateway(
            fields={
                "gateway": [
                    _("Choose one of: %(names)s.")
                    % {"names": ", ".join(gateways.available())}
                ]
            }
        )
    if gateway.currencies is not None and order.currency not in gateway.currencies:
        raise UnsupportedCurrency(
            _("This payment gateway takes %(accepted)s only, not %(currency)s.")
            % {
                "accepted": ", ".join(sorted(gateway.currencies)),
                "currency": order.currency,
            }
        )

    with transaction.atomic():
        locked = order_services.order_lock(order_id=order.pk)
        if locked.status != PAYABLE or locked.expires_at <= timezone.now():
            raise OrderNotPayable()
        payment = Payment.objects.create(
            order=locked,
            gateway=gateway_name,
            amount=locked.total,
            currency=locked.currency,
        )

    callback = base_url.rstrip("/") + reverse(
        "payment-callback", kwargs={"gateway": gateway_name}
    )
    try:
        started = gateway.start(
            payment=payment,
            callback_url=callback,
            description=str(_("Order %(number)s") % {"number": locked.number}),
        )
    except GatewayError as exc:
        _exchange(payment, "start", {"error": str(exc)})
        payment.status = Payment.Status.FAILED
        payment.save(update_fields=["status", "exchanges", "updated_at"])
        logger.warning("payment start failed", extra={"payment_id": payment.pk})
        raise GatewayUnavailable() from exc

    payment.authority = started.authority
    _exchange(payment, "start", started.exchange)
    payment.save(update_fields=["authority", "exchanges", "updated_at"])
    logger.info(
        "payment started", extra={"payment_id": payment.pk, "order_id": order.pk}
    )
    return payment, started.redirect_url


def _outcome_of(payment: Payment) -> Outcome:
    number = payment.order.number
    if payment.status == Payment.Status.SUCCEEDED:
        if not payment.needs_refund:
            return Outcome("paid", number)
        late = payment.order.status in (Order.Status.EXPIRED, Order.Status.CANCELLED)
        return Outcome("unavailable" if late else "duplicate", number)
    if payment.status == Payment.Status.INITIATED:
        return Outcome("pending", number)
    return Outcome(payment.status, number)


def payment_callback(*, gateway_name: str, data: dict) -> Outcome:
    """Handle the gateway sending the customer back. Verifies server to
    server (outside any transaction), then settles exactly once."""
    if gateways.get(gateway_name) is None:
        raise UnknownGateway()
    authority = data.get("Authority") or data.get("authority") or ""
    if not isinstance(authority, str) or not 0 < len(authority) <= 64:
        return Outcome("unknown")
    payment = (
        Payment.objects.select_related("order")
        .filter(gateway=gateway_name, authority=authority)
        .first()
    )
    if payment is None:
        logger.warning("callback for unknown payment", extra={"gateway": gateway_name})
        return Outcome("unknown")
    # Known limit: an attempt already closed as cancelled or failed is not
    # asked again, so if someone who knows its authority sends a false
    # Status=NOK return before the customer pays on the gateway's page, that
    # payment is never verified here; Zarinpal reverses a payment nobody
    # verified, and the customer sees the attempt as cancelled.
    if payment.status != Payment.Status.INITIATED:
        return _outcome_of(payment)
    return payment_verify_and_settle(payment=payment, callback_data=data)


def _ask_gateway(*, payment: Payment, callback_data: dict) -> VerifyResult | None:
    """The gateway's word on ``payment``, asked outside any transaction;
    ``None`` when it is disabled or did not answer (the attempt stays open)."""
    gateway = gateways.get(payment.gateway)
    if gateway is None:
        logger.warning(
            "payment left pending: its gateway is disabled",
            extra={"payment_id": payment.pk, "gateway": payment.gateway},
        )
        return None
    try:
        return gateway.verify(payment=payment, callback_data=callback_data)
    except GatewayError:
        logger.warning("payment verify failed", extra={"payment_id": payment.pk})
        return None


def payment_verify_and_settle(*, payment: Payment, callback_data: dict) -> Outcome:
    result = _ask_gateway(payment=payment, callback_data=callback_data)
    if result is None:
        return Outcome("pending", payment.order.number)
    return payment_settle(payment_id=payment.pk, result=result)


@retry_on_lock_conflict
def payment_settle(*, payment_id: int, result: VerifyResult) -> Outcome:
    """Record a verification result once.

    The order row is locked first, then the payment: the same order as
    cancel and expiry, so a late callback and an expiry run take turns; and
    only the first settlement of an ``initiated`` payment changes anything.
    """
    alert = None
    with transaction.atomic():
        order_id = Payment.objects.values_list("order_id", flat=True).get(pk=payment_id)
        order = order_services.order_lock(order_id=order_id)
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        payment.order = order
        if payment.status != Payment.Status.INITIATED:
            return _outcome_of(payment)

        _exchange(payment, "verify", result.exchange)
        payment.verified_at = timezone.now()
        if not result.paid:
            if not result.final:
                payment.save(update_fields=["exchanges", "verified_at", "updated_at"])
                return Outcome("pending", order.number)
            payment.status = (
                Payment.Status.CANCELLED if result.cancelled else Payment.Status.FAILED
            )
            payment.save(
                update_fields=["status", "exchanges", "verified_at", "updated_at"]
            )
            logger.info(
                "payment not paid",
                extra={"payment_id": payment.pk, "status": payment.status},
            )
            return Outcome(payment.status, order.number)

        payment.status = Payment.Status.SUCCEEDED
        payment.reference_id = result.reference_id
        payment.card_mask = result.card_mask
        paid = order_services.order_pay(order=order, payment_id=payment.pk)
        if paid == "paid":
            payment.succeeded_for_order = order
        else:
            payment.needs_refund = True
            payment.refund_reason = (
                "order already paid by another attempt"
                if paid == "already_paid"
                else "paid, but the order's items are no longer available"
            )
            order_services.order_note_payment(
                order=order,
                message=payment.refund_reason,
                data={"payment": payment.pk, "needs_refund": True},
            )
            alert = payment.refund_reason
        payment.save()
        if alert:
            transaction.on_commit(lambda: _alert_staff(payment.pk))
    logger.info(
        "payment succeeded",
        extra={"payment_id": payment.pk, "order_id": order.pk, "outcome": paid},
    )
    return _outcome_of(payment)


def _alert_staff(payment_id: int) -> None:
    from payments import tasks

    logger.warning("payment needs a refund", extra={"payment_id": payment_id})
    try:
        tasks.alert_staff_refund_needed.delay(payment_id)
    except Exception:
        logger.exception("staff alert not queued", extra={"payment_id": payment_id})


def refund_payment(
    *,
    payment: Payment,
    staff: User,
    reason: str,
    restock_codes: bool = False,
    confirm_revealed: bool = False,
) -> Payment:
    """Refund a succeeded payment (Finance only).

    The order becomes ``refunded``. Codes its owner never saw return to the
    pool only with ``restock_codes``; if the owner already saw a code, the
    refund needs ``confirm_revealed``. A payment that was only marked for
    refund (a duplicate or late attempt) is refunded without touching the
    order.
    """
    if not staff.has_perm("payments.refund_payment"):
        raise RefundNotAllowed()
    if payment.status != Payment.Status.SUCCEEDED:
        raise NotRefundable()
    is_order_payment = payment.succeeded_for_order_id is not None
    if (
        is_order_payment
        and order_services.order_codes_revealed(order=payment.order)
        and not confirm_revealed
    ):
        raise RefundNeedsConfirmation()

    # Known limit: the gateway's refund runs before the transaction that
    # records it (no network call under row locks), so if two staff refund
    # the same payment at the same second the gateway is asked twice; the
    # second recording is refused and logged for follow-up.
    gateway = gateways.get(payment.gateway)
    refund_exchange = {"manual": True}
    if gateway is not None and gateway.supports_refund:
        try:
            refund_exchange = gateway.refund(payment=payment)
        except GatewayError as exc:
            raise GatewayUnavailable() from exc

    with transaction.atomic():
        order = order_services.order_lock(order_id=payment.order_id)
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != Payment.Status.SUCCEEDED:
            logger.error("payment refunded twice", extra={"payment_id": payment.pk})
            raise NotRefundable()
        if is_order_payment and order.status in REFUNDABLE:
            order_services.order_refund(
                order=order, staff=staff, reason=reason, restock_codes=restock_codes
            )
        else:
            # A duplicate or late attempt: the order keeps its state, and its
            # history says where this payment's money went.
            order_services.order_note_payment(
                order=order,
                message=f"payment {payment.pk} refunded: {reason}",
                data={"payment": payment.pk, "refunded": True, "staff": staff.pk},
            )
        locked.status = Payment.Status.REFUNDED
        locked.refunded_at = timezone.now()
        locked.refund_reason = reason
        _exchange(locked, "refund", {"by": staff.pk, **refund_exchange})
        locked.save()
    logger.info(
        "payment refunded", extra={"payment_id": payment.pk, "staff_id": staff.pk}
    )
    return locked


def payments_reconcile(*, now=None) -> dict[str, int]:
    """Settle payments left ``initiated`` past ``PAYMENT_RECONCILE_AFTER_MINUTES``
    by asking their gateway, so a customer who paid while the callback was
    lost still gets the order. Returns how many ended in each outcome.

    An attempt is closed as dead only on the gateway's own answer that
    nothing was paid, and only past ``PAYMENT_ABANDON_AFTER_MINUTES``; one
    whose gateway cannot be reached or is disabled stays ``initiated`` and is
    asked again on the next run. The least recently asked go first, so
    attempts that keep failing never crowd out the others.
    """
    now = now or timezone.now()
    abandon_before = now - timedelta(minutes=settings.PAYMENT_ABANDON_AFTER_MINUTES)
    stale = Payment.objects.select_related("order").filter(
        status=Payment.Status.INITIATED,
        created_at__lte=now
        - timedelta(minutes=settings.PAYMENT_RECONCILE_AFTER_MINUTES),
    )
    settled: dict[str, int] = {}
    for payment in stale.order_by("updated_at", "id")[:RECONCILE_BATCH]:
        outcome = _payment_reconcile(
            payment=payment, abandoned=payment.created_at <= abandon_before
        )
        settled[outcome.status] = settled.get(outcome.status, 0) + 1
    return settled


def _payment_reconcile(*, payment: Payment, abandoned: bool) -> Outcome:
    if not payment.authority:
        # The gateway never gave this attempt a page, so the customer was
        # never sent to pay it.
        if not abandoned:
            return Outcome("pending", payment.order.number)
        return payment_settle(
            payment_id=payment.pk,
            result=VerifyResult(paid=False, exchange={"abandoned": True}),
        )

    result = _ask_gateway(payment=payment, callback_data={})
    if result is None:
        _mark_asked(payment)
        return Outcome("pending", payment.order.number)

    if abandoned and not result.paid and not result.final:
        # The gateway says nothing was paid, long after a customer would
        # have finished paying: the attempt is dead.
        result = replace(
            result, final=True, exchange={**result.exchange, "abandoned": True}
        )
    return payment_settle(payment_id=payment.pk, result=result)


def _mark_asked(payment: Payment) -> None:
    # Only the timestamp, and only while still initiated: a callback settling
    # the payment meanwhile keeps its answer.
    Payment.objects.filter(pk=payment.pk, status=Payment.Status.INITIATED).update(
        updated_at=timezone.now()
    )
