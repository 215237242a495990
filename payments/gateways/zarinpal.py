"""Zarinpal's REST API v4: payment request, the StartPay page, verification.

Amounts are sent in IRR as integers (an order in another currency is refused
before anything is sent). Verification always sends the amount
stored for the payment, never one from the callback, so a tampered callback
fails with -50. Only network failures are retried (a request that may have
reached Zarinpal is never sent twice); every answer is kept in the payment's
exchanges without the merchant id.
"""

import logging

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from payments.gateways.base import Gateway, GatewayError, StartResult, VerifyResult

logger = logging.getLogger(__name__)

LIVE_HOST = "https://payment.zarinpal.com"
SANDBOX_HOST = "https://sandbox.zarinpal.com"
PAID_CODES = {100, 101}
# No successful payment for the authority (yet).
NOT_PAID = -51


def _session() -> requests.Session:
    # connect=2: retry when the connection could not be opened; read=0 and
    # status=0: never resend a request that Zarinpal may have processed.
    retry = Retry(total=2, connect=2, read=0, status=0, other=0, backoff_factor=0.3)
    session = requests.Session()
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


def _national(phone: str) -> str:
    """Zarinpal expects Iranian mobiles as 09…; others pass as given."""
    return "0" + phone[3:] if phone.startswith("+98") else phone


class ZarinpalGateway(Gateway):
    supports_refund = False
    # Amounts go as whole rials; a total in another currency would be sent
    # as the wrong amount.
    currencies = frozenset({"IRR"})

    @property
    def host(self) -> str:
        return SANDBOX_HOST if self.options.get("SANDBOX") else LIVE_HOST

    @property
    def merchant_id(self) -> str:
        merchant = self.options.get("MERCHANT_ID", "")
        if not merchant:
            raise GatewayError("ZARINPAL_MERCHANT_ID is not set")
        return merchant

    def _post(self, path: str, body: dict) -> dict:
        timeout = self.options.get("TIMEOUT", 10)
        try:
            response = _session().post(
                f"{self.host}{path}",
                json={"merchant_id": self.merchant_id, **body},
                headers={"Accept": "application/json"},
                timeout=(3, timeout),
            )
            payload = response.json()
        except (requests.RequestException, ValueError) as exc:
            logger.warning("zarinpal unreachable", extra={"path": path})
            raise GatewayError(
                f"zarinpal did not answer: {type(exc).__name__}"
            ) from exc
        if response.status_code == 429 or response.status_code >= 500:
            # Throttled or broken on Zarinpal's side (or a proxy in front of
            # it): whatever the body says, the request was not handled.
            logger.warning(
                "zarinpal answered an error status",
                extra={"path": path, "status": response.status_code},
            )
            raise GatewayError(f"zarinpal answered HTTP {response.status_code}")
        if not isinstance(payload, dict):
            raise GatewayError("zarinpal answered something that is not an object")
        return payload

    @staticmethod
    def _code(payload: dict) -> int | None:
        data = payload.get("data")
        if isinstance(data, dict) and isinstance(data.get("code"), int):
            return data["code"]
        errors = payload.get("errors")
        if isinstance(errors, dict) and isinstance(errors.get("code"), int):
            return errors["code"]
        return None

    def start(self, *, payment, callback_url: str, description: str) -> StartResult:
        user = payment.order.user
        metadata = {"order_id": payment.order.number}
        if user.phone:
            metadata["mobile"] = _national(str(user.phone))
        if user.email:
            metadata["email"] = user.email
        body = {
            "amount": self.amount_in_rials(payment.amount),
            "currency": "IRR",
            "callback_url": callback_url,
            "description": description,
            "metadata": metadata,
        }
        payload = self._post("/pg/v4/payment/request.json", body)
        code = self._code(payload)
        authority = (
            (payload.get("data") or {}).get("authority") if code == 100 else None
        )
        if not authority:
            raise GatewayError(f"zarinpal refused the payment request (code {code})")
        return StartResult(
            authority=authority,
            redirect_url=f"{self.host}/pg/StartPay/{authority}",
            exchange={"request": body, "response": payload},
        )

    def verify(self, *, payment, callback_data: dict) -> VerifyResult:
        """Ask Zarinpal about ``payment``.

        An answer without a code says nothing about the payment and raises
        :class:`GatewayError`, so the attempt stays open and is asked again.
        -51 (no paid attempt) ends the attempt only when the customer came
        back (``Status`` in ``callback_data``): ``NOK`` is a cancellation,
        ``OK`` a failure. Asked without a return (reconciliation), the
        customer may still be on Zarinpal's page, so it is not final.
        """
        body = {
            "amount": self.amount_in_rials(payment.amount),
            "authority": payment.authority,
        }
        payload = self._post("/pg/v4/payment/verify.json", body)
        code = self._code(payload)
        exchange = {"request": body, "response": payload}
        if code is None:
            logger.warning("zarinpal answered without a code", extra={"path": "verify"})
            raise GatewayError("zarinpal answered without a code")
        if code in PAID_CODES:
            data = payload.get("data")
            data = data if isinstance(data, dict) else {}
            return VerifyResult(
                paid=True,
                code=code,
                reference_id=str(data.get("ref_id", "")),
                card_mask=str(data.get("card_pan", ""))[:32],
                exchange=exchange,
            )
        returned = callback_data.get("Status")
        if code == NOT_PAID and returned not in ("OK", "NOK"):
            return VerifyResult(paid=False, code=code, final=False, exchange=exchange)
        # -50 amount mismatch, -51 not paid, -54 unknown authority, and any
        # other code: the attempt failed, or the customer cancelled it.
        return VerifyResult(
            paid=False,
            code=code,
            cancelled=code == NOT_PAID and returned == "NOK",
            exchange=exchange,
        )
