import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.utils.translation import gettext as _

from accounts import roles
from accounts.models import User
from catalog import services

logger = logging.getLogger(__name__)


def catalog_manager_emails() -> list[str]:
    return sorted(
        User.objects.filter(
            groups__name=roles.CATALOG_MANAGER, is_active=True, email__isnull=False
        )
        .values_list("email", flat=True)
        .distinct()
    )


@shared_task(name="catalog.send_low_stock_alerts")
def send_low_stock_alerts() -> int:
    """Every few minutes: email the catalog managers once about each variant
    that fell under its low-stock threshold. Returns how many were reported."""
    fallen = services.low_stock_claim()
    if not fallen:
        return 0
    rows = [
        {"sku": row.sku, "name": row.name, "level": row.level, "max": row.threshold}
        for row in fallen
    ]
    email_low_stock.delay(rows)
    logger.info("low stock reported", extra={"variants": len(rows)})
    return len(rows)


@shared_task(
    name="catalog.email_low_stock",
    bind=True,
    max_retries=6,
    ignore_result=True,
)
def email_low_stock(self, rows: list[dict]) -> None:
    recipients = catalog_manager_emails()
    if not recipients:
        logger.warning("low stock reported to nobody: no catalog manager has email")
        return
    lines = [
        _("%(sku)s %(name)s: %(level)s left (threshold %(max)s)") % row for row in rows
    ]
    try:
        send_mail(
            subject=_("Low stock: %(count)d variants") % {"count": len(rows)},
            message="\n".join(
                [_("These variants fell under their low-stock threshold:"), "", *lines]
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=recipients,
        )
    except Exception as exc:
        raise self.retry(
            exc=exc, countdown=min(1800, 30 * 2**self.request.retries)
        ) from exc
