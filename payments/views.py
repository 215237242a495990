from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views import View
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mithrapay.maintenance import MaintenanceGate
from mithrapay.schema import ErrorSerializer
from orders.selectors import order_get
from payments import services
from payments.gateways.sandbox import sandbox_decide
from payments.models import SandboxTransaction
from payments.serializers import (
    CallbackResultSerializer,
    PaymentSerializer,
    PayRequestSerializer,
    PayResponseSerializer,
)


class PayView(APIView):
    permission_classes = [IsAuthenticated, MaintenanceGate]

    @extend_schema(
        summary="Start paying an order at a gateway",
        request=PayRequestSerializer,
        responses={
            201: PayResponseSerializer,
            409: ErrorSerializer,
            502: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request, ref):
        order = order_get(user=request.user, ref=ref)
        serializer = PayRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment, redirect_url = services.payment_start(
            order=order,
            user=request.user,
            gateway_name=serializer.validated_data["gateway"],
            base_url=request.build_absolute_uri("/"),
        )
        body = {
            "payment": PaymentSerializer(payment).data,
            "redirect_url": redirect_url,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class CallbackView(APIView):
    """Where the gateway sends the customer back (query string or form)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def _handle(self, request, gateway):
        data = {**request.query_params.dict()}
        if request.method == "POST" and hasattr(request.data, "dict"):
            data.update(request.data.dict())
        elif request.method == "POST" and isinstance(request.data, dict):
            data.update({k: v for k, v in request.data.items() if isinstance(v, str)})
        outcome = services.payment_callback(gateway_name=gateway, data=data)
        body = {"order": outcome.order_number, "status": outcome.status}
        if "application/json" in request.headers.get("Accept", ""):
            return Response(body)
        return HttpResponseRedirect(f"{settings.PAYMENT_RESULT_URL}?{urlencode(body)}")

    @extend_schema(
        summary="The gateway's return (GET)",
        parameters=[
            OpenApiParameter("Authority", OpenApiTypes.STR, OpenApiParameter.QUERY),
            OpenApiParameter("Status", OpenApiTypes.STR, OpenApiParameter.QUERY),
        ],
        responses={200: CallbackResultSerializer, 302: None, 400: ErrorSerializer},
    )
    def get(self, request, gateway):
        return self._handle(request, gateway)

    @extend_schema(
        summary="The gateway's return (POST)",
        request=None,
        responses={200: CallbackResultSerializer, 302: None},
    )
    def post(self, request, gateway):
        return self._handle(request, gateway)


class SandboxPageView(View):
    """The sandbox gateway's payment page: the amount and two buttons."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.PAYMENT_SANDBOX_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, authority):
        record = SandboxTransaction.objects.filter(authority=authority[:64]).first()
        if record is None:
            raise Http404
        return render(request, "payments/sandbox.html", {"record": record})

    def post(self, request, authority):
        action = request.POST.get("action")
        if action not in ("pay", "cancel"):
            return render(
                request,
                "payments/sandbox.html",
                {"error": True},
                status=400,
            )
        record = sandbox_decide(authority=authority[:64], pay=action == "pay")
        if record is None:
            raise Http404
        paid = record.status == SandboxTransaction.Status.PAID
        query = urlencode(
            {"Authority": record.authority, "Status": "OK" if paid else "NOK"}
        )
        return HttpResponseRedirect(f"{record.callback_url}?{query}")


class ResultPageView(View):
    """A plain page for the customer's browser after paying, used when the
    shop's own front end does not take the result (``PAYMENT_RESULT_URL``)."""

    def get(self, request):
        return render(
            request,
            "payments/result.html",
            {
                "status": request.GET.get("status", "")[:20],
                "order": request.GET.get("order", "")[:16],
            },
        )
