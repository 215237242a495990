"""``ReadModelSerializer``: fields worked out once per class, answers
unchanged."""

from unittest import mock

import pytest
from rest_framework import serializers

from orders import services
from orders.models import Order
from orders.serializers import OrderItemSerializer, OrderSerializer
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
