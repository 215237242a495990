"""Customer notifications: an email (plain text and HTML) and a short SMS.

They link to the order in the app and never carry a code: codes are shown
only to the logged-in owner, so no mailbox, log or console ever holds one.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from accounts.sms import SmsMessage, get_backend

logger = logging.getLogger(__name__)


def order_link(order) -> str:
    return settings.ORDER_URL_TEMPLATE.format(number=order.number)


def send(*, user, template: str, context: dict, sms_text: str) -> None:
    """Email the customer if they have an address, text them if they have a
    phone. Raises on a delivery failure so the task retries."""
    with translation.override(settings.LANGUAGE_CODE):
        context = {"user": user, **context}
        if user.email:
            subject = render_to_string(f"orders/email/{template}_subject.txt", context)
            message = EmailMultiAlternatives(
                subject=" ".join(subject.split()),
                body=render_to_string(f"orders/email/{template}.txt", context),
                to=[user.email],
            )
            message.attach_alternative(
                render_to_string(f"orders/email/{template}.html", context), "text/html"
            )
            message.send()
        if user.phone:
            get_backend().send(SmsMessage(to=str(user.phone), body=sms_text))
