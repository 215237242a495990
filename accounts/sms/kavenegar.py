"""Kavenegar (kavenegar.com), Iran's SMS provider, over its HTTPS REST API.

Plain messages go to ``sms/send.json`` from ``KAVENEGAR_SENDER``; one-time
codes go to ``verify/lookup.json`` with ``KAVENEGAR_OTP_TEMPLATE`` when one
is set. The API key sits in the URL path, so URLs are never logged.
"""

import logging
import time

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from accounts.sms.base import SmsBackend, SmsError, SmsMessage

logger = logging.getLogger(__name__)

API_ROOT = "https://api.kavenegar.com/v1"
RETRY_PAUSE_SECONDS = 0.5


def receptor(phone: str) -> str:
    """E.164 (``+98912…``) in the international form Kavenegar reads (``0098912…``)."""
    return "00" + phone.removeprefix("+")


class KavenegarBackend(SmsBackend):
    def __init__(self, *, api_key=None, sender=None, template=None, session=None):
        self.api_key = api_key if api_key is not None else settings.KAVENEGAR_API_KEY
        self.sender = sender if sender is not None else settings.KAVENEGAR_SENDER
        self.template = (
            template if template is not None else settings.KAVENEGAR_OTP_TEMPLATE
        )
        if not self.api_key:
            raise ImproperlyConfigured("KAVENEGAR_API_KEY must be set to send SMS")
        self.session = session or requests.Session()
        self.timeout = settings.SMS_TIMEOUT_SECONDS
        self.retries = settings.SMS_RETRIES

    def send(self, message: SmsMessage) -> None:
        if message.code and self.template:
            method = "verify/lookup.json"
            data = {
                "receptor": receptor(message.to),
                "token": message.code,
                "template": self.template,
            }
        else:
            method = "sms/send.json"
            data = {"receptor": receptor(message.to), "message": message.body}
            if self.sender:
                data["sender"] = self.sender
        body = self._post(method, data)
        entries = body.get("entries") or [{}]
        logger.info(
            "sms accepted by kavenegar",
            extra={"message_id": entries[0].get("messageid")},
        )

    def _post(self, method: str, data: dict) -> dict:
        url = f"{API_ROOT}/{self.api_key}/{method}"
        for attempt in range(self.retries + 1):
            try:
                response = self.session.post(url, data=data, timeout=self.timeout)
                break
            except requests.ConnectionError:
                # Nothing reached the provider (refused, reset, DNS, connect
                # timeout), so sending again cannot duplicate the message.
                if attempt == self.retries:
                    raise SmsError("kavenegar could not be reached") from None
                logger.warning(
                    "kavenegar unreachable, retrying", extra={"attempt": attempt + 1}
                )
                time.sleep(RETRY_PAUSE_SECONDS * (attempt + 1))
            except requests.Timeout:
                # The request went out; the message may have been sent, so a
                # second try could deliver it twice.
                raise SmsError("kavenegar did not answer in time") from None
            except requests.RequestException as exc:
                raise SmsError(
                    f"kavenegar request failed ({type(exc).__name__})"
                ) from None
        try:
            body = response.json()
            status = int(body["return"]["status"])
        except (ValueError, KeyError, TypeError):
            raise SmsError(
                "kavenegar answered something unreadable", status=response.status_code
            ) from None
        if status != 200 or response.status_code != 200:
            raise SmsError(f"kavenegar refused the message ({status})", status=status)
        return body
