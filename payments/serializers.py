from rest_framework import serializers

from mithrapay.serializers import ReadModelSerializer
from payments.models import Payment


class PayRequestSerializer(serializers.Serializer):
    gateway = serializers.CharField(max_length=32)


class PaymentSerializer(ReadModelSerializer):
    class Meta:
        model = Payment
        fields = (
            "id",
            "gateway",
            "amount",
            "currency",
            "status",
            "authority",
            "created_at",
        )
        read_only_fields = fields


class PayResponseSerializer(serializers.Serializer):
    payment = PaymentSerializer()
    redirect_url = serializers.URLField()


class CallbackResultSerializer(serializers.Serializer):
    order = serializers.CharField(help_text="The order number, empty when unknown.")
    status = serializers.ChoiceField(
        choices=[
            "paid",
            "duplicate",
            "unavailable",
            "failed",
            "cancelled",
            "refunded",
            "pending",
            "unknown",
        ]
    )
