import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from mithrapay.errors import ApplicationError, error_body
from mithrapay.maintenance import MaintenanceGate
from mithrapay.schema import ErrorSerializer
from orders import idempotency, selectors, services
from orders.models import Order, Subscription
from orders.serializers import (
    OrderCreateSerializer,
    OrderSerializer,
    SubscriptionSerializer,
    order_data,
)

# Answers that describe the request itself and are replayed for its key;
# anything else (a lock timeout, maintenance) frees the key for a retry.
REPLAYED_ERROR_STATUSES = {400, 409, 422}


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Order.Status.choices)

    class Meta:
        model = Order
        fields = ["status"]


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Up to 255 characters. The same key and body within 24 hours "
    "returns the first answer again.",
)


@extend_schema_view(
    list=extend_schema(summary="The customer's orders, newest first"),
    retrieve=extend_schema(
        summary="One of the customer's orders, by id or number",
        description="Once paid, each code item lists its codes, shown only to "
        "the owner.",
    ),
)
class OrderViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = OrderSerializer
    permission_classes = [IsAuthenticated, MaintenanceGate]
    filterset_class = OrderFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    lookup_value_regex = "[^/]+"
    lookup_url_kwarg = "ref"

    @property
    def throttle_scope(self):
        return "order_create" if self.action == "create" else None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        return selectors.order_list(user=self.request.user)

    def get_object(self):
        return selectors.order_get(user=self.request.user, ref=self.kwargs["ref"])

    def retrieve(self, request, *args, **kwargs):
        order = self.get_object()
        codes = selectors.order_codes(order=order)
        if codes:
            services.order_codes_mark_revealed(order=order)
        return Response(order_data(order, codes=codes))

    @extend_schema(
        summary="Place an order; its codes and stock are reserved until expires_at",
        request=OrderCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={
            201: OrderSerializer,
            409: ErrorSerializer,
            422: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def create(self, request, *args, **kwargs):
        serializer = OrderCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key")
        if key is None:
            order = self._create(serializer.validated_data)
            return Response(order_data(order), status=status.HTTP_201_CREATED)

        claim = idempotency.claim(
            user=request.user, key=idempotency.validate_key(key), payload=request.data
        )
        if isinstance(claim, idempotency.Replay):
            return Response(claim.body, status=claim.status)
        if isinstance(claim, idempotency.Recovered):
            body = order_data(claim.order)
            idempotency.complete(
                claim.record, status=status.HTTP_201_CREATED, body=body
            )
            return Response(body, status=status.HTTP_201_CREATED)

        body = None

        def store_answer(order: Order) -> None:
            # In the order's transaction: the order and its stored answer
            # commit together, so a retry never finds one without the other.
            nonlocal body
            body = order_data(order)
            idempotency.complete(claim, status=status.HTTP_201_CREATED, body=body)

        try:
            self._create(
                serializer.validated_data,
                idempotency_key=claim,
                on_placed=store_answer,
            )
        except ApplicationError as exc:
            if exc.status in REPLAYED_ERROR_STATUSES:
                body = error_body(exc.code, exc.message, exc.fields)
                idempotency.complete(claim, status=exc.status, body=body)
            else:
                idempotency.release(claim)
            raise
        except BaseException:
            idempotency.release(claim)
            raise
        return Response(body, status=status.HTTP_201_CREATED)

    def _create(self, data, *, idempotency_key=None, on_placed=None) -> Order:
        return services.order_create(
            user=self.request.user,
            lines=data["items"],
            shipping_address=data.get("shipping_address"),
            note=data.get("note", ""),
            idempotency_key=idempotency_key,
            on_placed=on_placed,
        )

    @extend_schema(
        summary="Cancel an unpaid order and release what it reserved",
        request=None,
        responses={200: OrderSerializer, 409: ErrorSerializer, 503: ErrorSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, ref=None):
        order = services.order_cancel(order=self.get_object(), user=request.user)
        return Response(order_data(order))


@extend_schema_view(
    list=extend_schema(summary="The customer's subscriptions with days left")
)
class SubscriptionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = SubscriptionSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return selectors.subscription_list(user=self.request.user)
