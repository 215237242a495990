"""``ReadModelSerializer`` and ``SharedFieldsSerializer``: fields worked
out once per class, answers and validation unchanged."""

from unittest import mock

import pytest
from rest_framework import serializers

from orders import services
from orders.models import Order
from orders.serializers import (
    OrderCreateSerializer,
    OrderItemSerializer,
    OrderLineSerializer,
    OrderSerializer,
    ShippingAddressSerializer,
)
from orders.tests.factories import VariantFactory, add_codes

pytestmark = pytest.mark.django_db


class PlainOrderItemSerializer(serializers.ModelSerializer):
    variant = serializers.IntegerField(source="variant_id")
    codes = serializers.SerializerMethodField()

    class Meta:
        model = OrderItemSerializer.Meta.model
        fields = OrderItemSerializer.Meta.fields
        read_only_fields = fields

    def get_codes(self, item):
        return OrderItemSerializer.get_codes(self, item)


class PlainOrderSerializer(serializers.ModelSerializer):
    """``OrderSerializer`` as DRF builds it, field by field on every use."""

    items = PlainOrderItemSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = OrderSerializer.Meta.fields
        read_only_fields = fields


@pytest.fixture
def order(user):
    variant = VariantFactory()
    add_codes(variant, 3)
    return services.order_create(
        user=user, lines=[{"variant": variant.pk, "quantity": 2, "inputs": {}}]
    )


def test_the_answer_is_what_a_plain_model_serializer_gives(order):
    order = Order.objects.prefetch_related("items").get(pk=order.pk)
    codes = {
        order.items.get().pk: [
            {"code": "C", "pin": "", "serial": "", "expires_at": None}
        ]
    }

    assert OrderSerializer(order, context={"codes": codes}).data == (
        PlainOrderSerializer(order, context={"codes": codes}).data
    )
    assert OrderSerializer(order).data == PlainOrderSerializer(order).data


def test_fields_are_built_from_the_model_once_per_class(order):
    assert OrderSerializer(order).data  # the class's first use builds its fields
    with mock.patch.object(
        serializers.ModelSerializer,
        "build_field",
        side_effect=AssertionError("fields built again"),
    ):
        first = OrderSerializer(order).data
        second = OrderSerializer(order).data

    assert first == second
    assert first["number"] == order.number
    assert len(first["items"]) == 1


def test_each_instance_has_its_own_bound_fields(order):
    first, second = OrderSerializer(order), OrderSerializer(order)

    assert first.fields["number"] is not second.fields["number"]
    assert first.fields["number"].parent is first
    assert second.fields["items"].parent is second
    assert first.fields["items"].child is not second.fields["items"].child


class PlainOrderCreateSerializer(serializers.Serializer):
    """``OrderCreateSerializer`` as DRF builds it, fields copied per instance."""

    items = OrderLineSerializer(many=True, min_length=1, max_length=20)
    shipping_address = ShippingAddressSerializer(required=False, allow_null=True)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)

    validate_items = OrderCreateSerializer.validate_items


ADDRESS = {
    "name": "Sara",
    "phone": "09121234567",
    "line1": "No. 1",
    "city": "Tehran",
    "postal_code": "1234567890",
}
BODIES = [
    {"items": [{"variant": 1, "quantity": 2}]},
    {"items": [{"variant": 1, "quantity": 1, "inputs": {"email": "a@b.ir"}}]},
    {"items": [{"variant": 1, "quantity": 1}], "shipping_address": ADDRESS},
    {"items": [{"variant": 1, "quantity": 1}], "shipping_address": None, "note": ""},
    {"items": []},
    {"items": [{"variant": 1, "quantity": 1}, {"variant": 1, "quantity": 2}]},
    {"items": [{"variant": "1", "quantity": 0}, {"variant": 2}]},
    {"items": [{"variant": 3, "quantity": 1}], "shipping_address": {"phone": "x"}},
    {"items": "nope", "note": "n" * 1001},
    {},
    [],
]


@pytest.mark.parametrize("body", BODIES)
def test_shared_fields_validate_every_body_as_plain_fields_do(body):
    ours = OrderCreateSerializer(data=body)
    plain = PlainOrderCreateSerializer(data=body)

    assert ours.is_valid() == plain.is_valid()
    assert ours.errors == plain.errors
    if plain.errors:
        assert not ours.validated_data
    else:
        assert ours.validated_data == plain.validated_data


def test_a_refused_body_leaves_nothing_for_the_next_instance():
    refused = OrderCreateSerializer(data=BODIES[6])
    assert not refused.is_valid()

    accepted = OrderCreateSerializer(data=BODIES[2])

    assert accepted.is_valid(), accepted.errors
    assert accepted.validated_data["items"] == [{"variant": 1, "quantity": 1}]
    assert accepted.validated_data["shipping_address"]["phone"] == "+989121234567"
    assert set(refused.errors["items"][0]) == {"variant", "quantity"}


def test_create_serializer_instances_share_one_set_of_fields():
    first, second = OrderCreateSerializer(data={}), OrderCreateSerializer(data={})

    assert first.fields is second.fields
    assert first.fields["items"].child is second.fields["items"].child
