import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from catalog import customer_fields


class Category(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=140, unique=True, allow_unicode=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    # The public tree shows three levels.
    MAX_DEPTH = 3

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ("position", "name", "id")

    def __str__(self):
        return self.name

    def clean(self):
        depth, node, seen = 1, self.parent, set()
        while node is not None:
            if (self.pk and node.pk == self.pk) or node.pk in seen:
                raise ValidationError(
                    {"parent": _("A category cannot sit under itself.")}
                )
            seen.add(node.pk)
            depth += 1
            node = node.parent
        if self.pk and Category.objects.filter(parent__parent_id=self.pk).exists():
            depth += 2
        elif self.pk and Category.objects.filter(parent_id=self.pk).exists():
            depth += 1
        if depth > self.MAX_DEPTH:
            raise ValidationError(
                {"parent": _("Categories nest at most three levels deep.")}
            )


class Product(models.Model):
    class Kind(models.TextChoices):
        GIFT_CARD = "gift_card", _("gift card")
        SUBSCRIPTION = "subscription", _("subscription")
        PHYSICAL = "physical", _("physical")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    brand = models.CharField(_("brand"), max_length=80, db_index=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="products",
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=220, unique=True, allow_unicode=True)
    description = models.TextField(_("description"), blank=True)
    image = models.ImageField(_("image"), upload_to="products/", blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Derived, never edited: the product is active, so are its category and
    # the category's parent and grandparent, and it has an active variant.
    # Kept by catalog.signals after every save or delete of a category,
    # product or variant (catalog.services.products_relist), so the public
    # list reads and counts one indexed column instead of working the rule
    # out over every product and variant on each request.
    listed = models.BooleanField(
        _("listed"),
        default=False,
        editable=False,
        help_text=_(
            "Shown in the public product list: the product and its categories "
            "are active and it has an active variant."
        ),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ("name", "id")
        indexes = [
            models.Index(fields=["is_active", "kind"]),
            # The public list: walked in name or creation order up to the
            # page's end, and counted from the index alone.
            models.Index(
                fields=["listed", "name", "id"], name="product_listing_by_name"
            ),
            models.Index(
                fields=["listed", "created_at", "id"],
                name="product_listing_by_newest",
            ),
            models.Index(
                fields=["listed", "category"], name="product_listing_by_category"
            ),
        ]

    def __str__(self):
        return self.name


class Variant(models.Model):
    """The SKU a customer buys. Only ``sku`` is unique: two variants of one
    product may share every other attribute (one card, two suppliers)."""

    class Fulfilment(models.TextChoices):
        CODE = "code", _("code from the pool")
        MANUAL = "manual", _("activated by staff")
        SHIPMENT = "shipment", _("shipped")

    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="variants",
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    price = models.DecimalField(
        _("price"),
        max_digits=18,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    fulfilment = models.CharField(
        _("fulfilment"),
        max_length=20,
        choices=Fulfilment.choices,
        default=Fulfilment.CODE,
    )
    # Gift cards.
    face_value = models.DecimalField(
        _("face value"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    face_currency = models.CharField(_("face currency"), max_length=3, blank=True)
    region = models.CharField(_("region"), max_length=8, blank=True, db_index=True)
    # Subscriptions.
    duration_days = models.PositiveIntegerField(
        _("duration in days"), null=True, blank=True
    )
    # Physical goods: units on hand, decremented by a conditional update.
    stock = models.PositiveIntegerField(_("stock on hand"), default=0)
    # Names of the inputs a customer gives when ordering (catalog.customer_fields).
    customer_fields = models.JSONField(
        _("customer fields"),
        default=list,
        blank=True,
        validators=[customer_fields.validate_names],
    )
    max_per_order = models.PositiveSmallIntegerField(
        _("limit per order"), default=10, validators=[MinValueValidator(1)]
    )
    low_stock_threshold = models.PositiveIntegerField(
        _("low-stock threshold"), default=5
    )
    # Set when catalog managers were told the variant fell under its
    # threshold; cleared when it is back above, so each fall alerts once.
    low_stock_alerted_at = models.DateTimeField(
        _("low-stock alert sent at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ("position", "price", "id")
        indexes = [
            # A product's active variants, in listing order, from the index.
            models.Index(
                fields=["product", "is_active", "position", "price", "id"],
                name="variant_listing",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0), name="variant_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(stock__gte=0), name="variant_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(max_per_order__gte=1), name="variant_max_per_order_positive"
            ),
        ]

    def __str__(self):
        return f"{self.product.name} — {self.name}" if self.product_id else self.name

    @property
    def currency(self) -> str:
        return settings.SHOP_CURRENCY


class CodeBatch(models.Model):
    """One delivery of codes from a supplier, imported together."""

    variant = models.ForeignKey(
        Variant,
        verbose_name=_("variant"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    supplier = models.CharField(_("supplier"), max_length=120, blank=True)
    unit_cost = models.DecimalField(
        _("unit cost"),
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source_name = models.CharField(_("source file"), max_length=255, blank=True)
    imported_count = models.PositiveIntegerField(_("imported"), default=0)
    rejected_count = models.PositiveIntegerField(_("rejected duplicates"), default=0)
    created_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    class Meta:
        verbose_name = _("code batch")
        verbose_name_plural = _("code batches")
        ordering = ("-created_at", "-id")

    def __str__(self):
        return f"#{self.pk} {self.variant.sku} ({self.imported_count})"


# The use-by date of a code without an expiry: after every real one.
NEVER_EXPIRES = datetime.date(9999, 12, 31)


class DigitalCode(models.Model):
    """One code of the pool, encrypted at rest (see ``catalog.vault``).

    ``available → reserved → sold``, back to ``available`` when a reservation
    is released, ``void`` when staff pull it. The orders app links a code to
    the item that holds it; this model never points at orders.
    """

    class Status(models.TextChoices):
        AVAILABLE = "available", _("available")
        RESERVED = "reserved", _("reserved")
        SOLD = "sold", _("sold")
        VOID = "void", _("void")

    variant = models.ForeignKey(
        Variant,
        verbose_name=_("variant"),
        on_delete=models.PROTECT,
        related_name="codes",
    )
    batch = models.ForeignKey(
        CodeBatch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="codes",
    )
    code_encrypted = models.TextField(_("code (encrypted)"))
    pin_encrypted = models.TextField(_("PIN (encrypted)"), blank=True)
    serial_encrypted = models.TextField(_("serial (encrypted)"), blank=True)
    digest = models.CharField(_("fingerprint"), max_length=64, unique=True)
    # The last characters, for staff to tell codes apart without revealing
    # one: at most four and at most a third of the code (see
    # ``code_files.shown_suffix``).
    last4 = models.CharField(_("last characters"), max_length=4)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.AVAILABLE
    )
    expires_at = models.DateField(_("expires on"), null=True, blank=True)
    # The allocation order in one column the database keeps: the printed
    # expiry, or the last date there is for a code that never expires. One
    # index range then finds a variant's sellable codes soonest expiry first
    # and the ones without an expiry last, with no sort.
    use_by = models.GeneratedField(
        verbose_name=_("use by"),
        expression=Coalesce("expires_at", Value(NEVER_EXPIRES)),
        output_field=models.DateField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    reserved_at = models.DateTimeField(_("reserved at"), null=True, blank=True)
    sold_at = models.DateTimeField(_("sold at"), null=True, blank=True)

    class Meta:
        verbose_name = _("digital code")
        verbose_name_plural = _("digital codes")
        ordering = ("id",)
        indexes = [
            # Allocation: the available codes of a variant, soonest use-by first.
            models.Index(fields=["variant", "status", "use_by", "id"]),
        ]
        permissions = [("reveal_code", _("Can reveal a full code"))]

    def __str__(self):
        return f"{self.variant.sku} ••••{self.last4}"

    @property
    def masked(self) -> str:
        return f"••••{self.last4}"


class CodeReveal(models.Model):
    """One time a member of staff was shown a full code, and why."""

    code = models.ForeignKey(
        DigitalCode,
        verbose_name=_("code"),
        on_delete=models.PROTECT,
        related_name="reveals",
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("code reveal")
        verbose_name_plural = _("code reveals")
        ordering = ("-at", "-id")
        indexes = [models.Index(fields=["staff", "-at"])]

    def __str__(self):
        return f"{self.code} @ {self.at:%Y-%m-%d %H:%M}"
