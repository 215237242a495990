from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import DigitalCode, Product, Variant

MONEY = {"max_digits": 18, "decimal_places": 2}


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("pending payment")
        PAID = "paid", _("paid")
        PARTIALLY_FULFILLED = "partially_fulfilled", _("partially fulfilled")
        FULFILLED = "fulfilled", _("fulfilled")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")
        REFUNDED = "refunded", _("refunded")

    number = models.CharField(_("number"), max_length=16, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    status = models.CharField(
        _("status"),
        max_length=24,
        choices=Status.choices,
        default=Status.PENDING_PAYMENT,
    )
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    expires_at = models.DateTimeField(_("reserved until"))
    shipping_address = models.JSONField(_("shipping address"), null=True, blank=True)
    note = models.TextField(_("customer note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    partially_fulfilled_at = models.DateTimeField(
        _("partially fulfilled at"), null=True, blank=True
    )
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True)
    # The Idempotency-Key claim that placed the order, written in the order's
    # own insert: a repeat that finds a claim whose request died after the
    # commit gets this order back instead of placing another.
    idempotency_key = models.OneToOneField(
        "IdempotencyKey",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="order",
    )

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["user", "-created_at"]),
            # The back office's sales figures read paid orders by paid time.
            models.Index(fields=["paid_at", "status"]),
            # The back office lists orders newest first.
            models.Index(fields=["created_at"]),
        ]
        permissions = [
            ("cancel_order", _("Can cancel an unpaid order")),
            ("add_note", _("Can add a note to an order")),
            ("resend_notification", _("Can resend a customer notification")),
            ("view_sales", _("Can see the shop's sales figures")),
        ]

    def __str__(self):
        return self.number


class OrderItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting payment")
        AWAITING = "awaiting", _("awaiting fulfilment")
        SHIPPED = "shipped", _("shipped")
        DONE = "done", _("fulfilled")
        RELEASED = "released", _("released")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="items"
    )
    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    # Snapshots: what the customer saw when ordering, whatever the catalog
    # says later.
    product_name = models.CharField(_("product name"), max_length=200)
    variant_name = models.CharField(_("variant name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64)
    kind = models.CharField(_("kind"), max_length=20, choices=Product.Kind.choices)
    fulfilment = models.CharField(
        _("fulfilment"), max_length=20, choices=Variant.Fulfilment.choices
    )
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    quantity = models.PositiveSmallIntegerField(_("quantity"))
    line_total = models.DecimalField(_("line total"), **MONEY)
    duration_days = models.PositiveIntegerField(
        _("duration in days"), null=True, blank=True
    )
    inputs = models.JSONField(_("customer inputs"), default=dict, blank=True)
    status = models.CharField(
        _("fulfilment status"),
        max_length=10,
        choices=Status.choices,
        default=Status.PENDING,
    )
    fulfilment_details = models.JSONField(
        _("activation details"), default=dict, blank=True
    )
    tracking_number = models.CharField(_("tracking number"), max_length=100, blank=True)
    fulfilled_at = models.DateTimeField(_("fulfilled at"), null=True, blank=True)
    fulfilled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("fulfilled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("order item")
        verbose_name_plural = _("order items")
        ordering = ("id",)
        permissions = [("fulfil_item", _("Can fulfil manual and shipment items"))]
        indexes = [
            # The fulfilment queue: items awaiting staff, by kind of fulfilment.
            models.Index(fields=["status", "fulfilment"]),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class FulfilmentItem(OrderItem):
    """An order item as the fulfilment queue shows it (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = _("item to fulfil")
        verbose_name_plural = _("fulfilment queue")
        default_permissions = ()


class ItemCode(models.Model):
    """The code an order item holds. The one-to-one column makes the
    database itself refuse to tie one code to two items."""

    item = models.ForeignKey(
        OrderItem,
        verbose_name=_("item"),
        on_delete=models.CASCADE,
        related_name="codes",
    )
    code = models.OneToOneField(
        DigitalCode,
        verbose_name=_("code"),
        on_delete=models.PROTECT,
        related_name="holder",
    )
    revealed_at = models.DateTimeField(_("first shown at"), null=True, blank=True)

    class Meta:
        verbose_name = _("item code")
        verbose_name_plural = _("item codes")
        ordering = ("id",)

    def __str__(self):
        return f"{self.item} ••••{self.code.last4}"


class OrderEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        RESERVED = "reserved", _("reserved")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")
        PAID = "paid", _("paid")
        PARTIALLY_FULFILLED = "partially_fulfilled", _("partially fulfilled")
        FULFILLED = "fulfilled", _("fulfilled")
        ITEM_FULFILLED = "item_fulfilled", _("item fulfilled")
        ITEM_SHIPPED = "item_shipped", _("item shipped")
        REFUNDED = "refunded", _("refunded")
        PAYMENT = "payment", _("payment")
        NOTE = "note", _("note")
        NOTIFICATION_RESENT = "notification_resent", _("notification resent")

    class Actor(models.TextChoices):
        CUSTOMER = "customer", _("customer")
        STAFF = "staff", _("staff")
        SYSTEM = "system", _("system")

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    actor = models.CharField(_("by"), max_length=10, choices=Actor.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ("created_at", "id")

    def __str__(self):
        return f"{self.order} {self.kind}"


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for order creation and its first answer.

    Keys are unique per user by the SHA-256 of their exact characters: the
    key column itself compares case- and accent-insensitively on MariaDB
    (``utf8mb4_unicode_ci``), which would make ``Key-A`` and ``key-a`` one.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    key_digest = models.CharField(max_length=64)
    fingerprint = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key_digest"], name="idempotency_key_digest_per_user"
            )
        ]

    def __str__(self):
        return self.key


class Subscription(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        ENDED = "ended", _("ended")
        CANCELLED = "cancelled", _("cancelled")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="subscriptions",
    )
    item = models.ForeignKey(
        OrderItem,
        verbose_name=_("from item"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    service = models.CharField(_("service"), max_length=80)
    plan = models.CharField(_("plan"), max_length=200)
    # The account the plan runs on (the account_email input, say); buying the
    # same product for the same account extends this subscription.
    account = models.CharField(_("account"), max_length=254, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    reminder_sent_for = models.DateTimeField(
        _("reminder sent for end"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ("-ends_at", "-id")
        indexes = [models.Index(fields=["user", "product", "account"])]

    def __str__(self):
        return f"{self.service} {self.plan}"
