from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.phones import normalize_phone
from catalog.customer_fields import FIELDS
from mithrapay.serializers import (
    ReadModelSerializer,
    SharedFieldsSerializer,
    date_text,
    money_text,
    time_text,
)
from orders.models import Order, OrderItem, Subscription
from orders.services import MAX_LINES


class StrictIntegerField(serializers.IntegerField):
    """An integer given as a JSON number: ``"2"``, ``2.0`` and ``true`` are
    refused rather than coerced."""

    default_error_messages = {"invalid": _("Give a whole number.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "object",
        "description": "The inputs the variant asks for (its customer_fields).",
        "properties": {name: {"type": "string", "maxLength": 254} for name in FIELDS},
        "additionalProperties": False,
    }
)
class InputsField(serializers.DictField):
    """Checked per variant by the orders services; the schema names the keys."""


class OrderLineSerializer(serializers.Serializer):
    variant = StrictIntegerField(min_value=1, max_value=2**62)
    quantity = StrictIntegerField(min_value=1, max_value=1000)
    inputs = InputsField(
        child=serializers.CharField(max_length=254, allow_blank=True), required=False
    )


class ShippingAddressSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=32)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100)
    postal_code = serializers.RegexField(r"^[0-9A-Za-z -]{3,12}$", max_length=12)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, default="IR")

    def validate_phone(self, value):
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class OrderCreateSerializer(SharedFieldsSerializer):
    items = OrderLineSerializer(many=True, min_length=1, max_length=MAX_LINES)
    shipping_address = ShippingAddressSerializer(required=False, allow_null=True)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    def validate_items(self, items):
        variants = [line["variant"] for line in items]
        if len(set(variants)) != len(variants):
            raise serializers.ValidationError(
                _("Each variant may appear on one line only; raise its quantity."),
                code="duplicate_line",
            )
        return items


class DeliveredCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    pin = serializers.CharField()
    serial = serializers.CharField()
    expires_at = serializers.DateField(allow_null=True)


class OrderItemSerializer(ReadModelSerializer):
    variant = serializers.IntegerField(source="variant_id")
    codes = serializers.SerializerMethodField()

    class Meta:
        model = OrderItem
        fields = (
            "id",
            "variant",
            "product_name",
            "variant_name",
            "sku",
            "kind",
            "fulfilment",
            "unit_price",
            "quantity",
            "line_total",
            "inputs",
            "status",
            "tracking_number",
            "fulfilled_at",
            "codes",
        )
        read_only_fields = fields

    @extend_schema_field(DeliveredCodeSerializer(many=True))
    def get_codes(self, item):
        codes = self.context.get("codes", {}).get(item.pk, [])
        return DeliveredCodeSerializer(codes, many=True).data


class OrderSerializer(ReadModelSerializer):
    items = OrderItemSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = (
            "id",
            "number",
            "status",
            "subtotal",
            "total",
            "currency",
            "expires_at",
            "shipping_address",
            "note",
            "items",
            "created_at",
            "paid_at",
            "partially_fulfilled_at",
            "fulfilled_at",
            "cancelled_at",
            "expired_at",
            "refunded_at",
        )
        read_only_fields = fields


class SubscriptionSerializer(ReadModelSerializer):
    days_left = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = (
            "id",
            "service",
            "plan",
            "account",
            "status",
            "starts_at",
            "ends_at",
            "days_left",
        )
        read_only_fields = fields

    def get_status(self, subscription) -> str:
        if (
            subscription.status == Subscription.Status.ACTIVE
            and subscription.ends_at <= timezone.now()
        ):
            return Subscription.Status.ENDED
        return subscription.status

    def get_days_left(self, subscription) -> int:
        remaining = subscription.ends_at - timezone.now()
        if remaining.total_seconds() <= 0:
            return 0
        return remaining.days + (
            1 if remaining.seconds or remaining.microseconds else 0
        )


def order_data(order: Order, *, codes: dict[int, list[dict]] | None = None) -> dict:
    """``OrderSerializer(order, context={"codes": codes}).data`` as plain
    dicts: the same keys, order and formats (the serializer documents them
    in the schema), without building and running a serializer per item.
    ``order.items.all()`` should be loaded already (a prefetch, or the items
    ``services.order_create`` just inserted)."""
    codes = codes or {}
    return {
        "id": order.pk,
        "number": order.number,
        "status": str(order.status),
        "subtotal": money_text(order.subtotal),
        "total": money_text(order.total),
        "currency": order.currency,
        "expires_at": time_text(order.expires_at),
        "shipping_address": order.shipping_address,
        "note": order.note,
        "items": [
            _item_data(item, codes.get(item.pk, ())) for item in order.items.all()
        ],
        "created_at": time_text(order.created_at),
        "paid_at": time_text(order.paid_at),
        "partially_fulfilled_at": time_text(order.partially_fulfilled_at),
        "fulfilled_at": time_text(order.fulfilled_at),
        "cancelled_at": time_text(order.cancelled_at),
        "expired_at": time_text(order.expired_at),
        "refunded_at": time_text(order.refunded_at),
    }


def _item_data(item: OrderItem, codes) -> dict:
    return {
        "id": item.pk,
        "variant": item.variant_id,
        "product_name": item.product_name,
        "variant_name": item.variant_name,
        "sku": item.sku,
        "kind": str(item.kind),
        "fulfilment": str(item.fulfilment),
        "unit_price": money_text(item.unit_price),
        "quantity": item.quantity,
        "line_total": money_text(item.line_total),
        "inputs": item.inputs,
        "status": str(item.status),
        "tracking_number": item.tracking_number,
        "fulfilled_at": time_text(item.fulfilled_at),
        "codes": [
            {
                "code": str(code["code"]),
                "pin": str(code["pin"]),
                "serial": str(code["serial"]),
                "expires_at": date_text(code["expires_at"]),
            }
            for code in codes
        ],
    }
