import logging

from celery import shared_task
from django.core.mail import mail_managers

from payments import services
from payments.models import Payment

logger = logging.getLogger(__name__)


@shared_task(
    name="payments.alert_staff_refund_needed",
    bind=True,
    max_retries=6,
    ignore_result=True,
)
def alert_staff_refund_needed(self, payment_id: int) -> None:
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    try:
        mail_managers(
            subject=f"Payment {payment.pk} needs a refund "
            f"(order {payment.order.number})",
            message=(
                f"Payment {payment.pk} of {payment.amount} {payment.currency} at "
                f"{payment.gateway} succeeded but {payment.refund_reason}. "
                "Refund it from the back office."
            ),
        )
    except Exception as exc:
        raise self.retry(
            exc=exc, countdown=min(1800, 30 * 2**self.request.retries)
        ) from exc


@shared_task(name="payments.reconcile_payments")
def reconcile_payments() -> dict:
    """Every five minutes: settle payments whose callback never came."""
    settled = services.payments_reconcile()
    if settled:
        logger.info("payments reconciled", extra={"settled": settled})
    return settled
