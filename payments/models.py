from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import Order


class Payment(models.Model):
    """One attempt to pay an order at a gateway."""

    class Status(models.TextChoices):
        INITIATED = "initiated", _("initiated")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")
        REFUNDED = "refunded", _("refunded")

    order = models.ForeignKey(
        Order,
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="payments",
    )
    gateway = models.CharField(_("gateway"), max_length=32)
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.INITIATED
    )
    # The gateway's reference for the attempt; NULL (never "") until the
    # gateway gave one, so the unique pair allows many attempts without one.
    authority = models.CharField(  # noqa: DJ001
        _("authority"), max_length=64, null=True, blank=True
    )
    reference_id = models.CharField(_("receipt"), max_length=64, blank=True)
    card_mask = models.CharField(_("card"), max_length=32, blank=True)
    # Set only on the attempt that paid the order: a nullable unique column,
    # since MariaDB ignores conditional unique constraints.
    succeeded_for_order = models.OneToOneField(
        Order,
        verbose_name=_("paid order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="successful_payment",
    )
    needs_refund = models.BooleanField(_("needs refund"), default=False)
    refund_reason = models.TextField(_("refund reason"), blank=True)
    # Every request to and answer from the gateway, without credentials.
    exchanges = models.JSONField(_("gateway exchanges"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "authority"], name="payment_authority_per_gateway"
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]
        permissions = [("refund_payment", _("Can refund a payment"))]

    def __str__(self):
        return f"{self.gateway} {self.authority or '-'} ({self.status})"


class SandboxTransaction(models.Model):
    """The built-in sandbox gateway's own record of a payment page."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled")
        REFUNDED = "refunded", _("refunded")

    authority = models.CharField(max_length=64, unique=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    description = models.CharField(max_length=255, blank=True)
    callback_url = models.CharField(max_length=500)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    verified = models.BooleanField(default=False)
    reference_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sandbox transaction")
        verbose_name_plural = _("sandbox transactions")

    def __str__(self):
        return self.authority
