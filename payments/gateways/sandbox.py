"""The built-in sandbox gateway: a payment page served by this project.

``start`` opens a page at ``/payments/sandbox/<authority>`` with the amount
and two buttons; the page redirects to the callback as a real gateway would.
``verify`` reads the sandbox's own record, so a callback whose query string
was edited by hand proves nothing.
"""

import secrets

from django.db import transaction
from django.urls import reverse

from payments.gateways.base import Gateway, GatewayError, StartResult, VerifyResult
from payments.models import SandboxTransaction


class SandboxGateway(Gateway):
    supports_refund = True

    def start(self, *, payment, callback_url: str, description: str) -> StartResult:
        authority = "SBX" + secrets.token_hex(16).upper()
        SandboxTransaction.objects.create(
            authority=authority,
            amount=payment.amount,
            description=description[:255],
            callback_url=callback_url,
        )
        page = reverse("payment-sandbox", kwargs={"authority": authority})
        base = callback_url.split("/payments/", 1)[0]
        return StartResult(
            authority=authority,
            redirect_url=f"{base}{page}",
            exchange={
                "request": {"amount": str(payment.amount)},
                "authority": authority,
            },
        )

    def verify(self, *, payment, callback_data: dict) -> VerifyResult:
        with transaction.atomic():
            record = (
                SandboxTransaction.objects.select_for_update()
                .filter(authority=payment.authority)
                .first()
            )
            if record is None:
                return VerifyResult(paid=False, code=-54, exchange={"code": -54})
            if record.amount != payment.amount:
                return VerifyResult(paid=False, code=-50, exchange={"code": -50})
            if record.status == SandboxTransaction.Status.PENDING:
                return VerifyResult(
                    paid=False, code=-51, final=False, exchange={"code": -51}
                )
            if record.status == SandboxTransaction.Status.CANCELLED:
                return VerifyResult(
                    paid=False,
                    code=-51,
                    cancelled=True,
                    exchange={"code": -51, "cancelled": True},
                )
            if record.status != SandboxTransaction.Status.PAID:
                return VerifyResult(paid=False, code=-51, exchange={"code": -51})
            code = 101 if record.verified else 100
            record.verified = True
            record.save(update_fields=["verified"])
        return VerifyResult(
            paid=True,
            code=code,
            reference_id=record.reference_id,
            card_mask="6037-99**-****-1234",
            exchange={"code": code, "ref_id": record.reference_id},
        )

    def refund(self, *, payment) -> dict:
        updated = SandboxTransaction.objects.filter(
            authority=payment.authority, status=SandboxTransaction.Status.PAID
        ).update(status=SandboxTransaction.Status.REFUNDED)
        if not updated:
            raise GatewayError("nothing to refund at the sandbox")
        return {"refund": "done"}


def sandbox_decide(*, authority: str, pay: bool) -> SandboxTransaction | None:
    """The customer pressed a button on the sandbox page."""
    with transaction.atomic():
        record = (
            SandboxTransaction.objects.select_for_update()
            .filter(authority=authority)
            .first()
        )
        if record is None:
            return None
        if record.status == SandboxTransaction.Status.PENDING:
            record.status = (
                SandboxTransaction.Status.PAID
                if pay
                else SandboxTransaction.Status.CANCELLED
            )
            record.reference_id = (
                str(secrets.randbelow(10**10)).zfill(10) if pay else ""
            )
            record.save(update_fields=["status", "reference_id"])
    return record
