import logging

from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.sms import SmsError, SmsMessage, get_backend

logger = logging.getLogger(__name__)

# What Celery shows of send_sms's arguments in its own logs and events: the
# text and the code stay out of them.
# Known limit: the code itself travels in the task message, so the broker
# (Redis) holds it until a worker takes the task; it is as sensitive as the
# cache and needs the same protection.
HIDDEN_ARGUMENTS = "{'to': '…', 'body': '…', 'code': '…'}"


@shared_task(ignore_result=True)
def send_sms(*, to: str, body: str, code: str | None = None) -> None:
    """Send one text. A failure is logged (without the text) and dropped:
    the customer asks for a new code, which is the only recovery anyway."""
    try:
        get_backend().send(SmsMessage(to=to, body=body, code=code))
    except SmsError as exc:
        logger.warning(
            "sms not sent", extra={"reason": exc.reason, "provider_status": exc.status}
        )
    except Exception:
        # Not re-raised: Celery would log the task's arguments with it.
        logger.exception("sms backend failed")


def dispatch_sms(*, to: str, body: str, code: str | None = None) -> None:
    """Queue :func:`send_sms` with its arguments hidden from Celery's logs."""
    send_sms.apply_async(
        kwargs={"to": to, "body": body, "code": code},
        argsrepr="()",
        kwargsrepr=HIDDEN_ARGUMENTS,
    )


@shared_task(ignore_result=True)
def flush_expired_tokens() -> int:
    """Delete refresh tokens (and their blacklist rows) past their expiry."""
    deleted, _by_model = OutstandingToken.objects.filter(
        expires_at__lte=timezone.now()
    ).delete()
    logger.info("expired tokens flushed", extra={"rows": deleted})
    return deleted
