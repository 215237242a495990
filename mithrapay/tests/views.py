"""Views that exist only in tests, to provoke each kind of error."""

from django.http import HttpResponse
from django.views import View
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from mithrapay.errors import Conflict


class EchoSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    quantity = serializers.IntegerField(min_value=1)


class EchoView(APIView):
    def post(self, request):
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data)


class PrivateView(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


class ForbiddenView(APIView):
    def get(self, request):
        raise PermissionDenied()


class ConflictView(APIView):
    def get(self, request):
        raise Conflict(code="out_of_stock", fields={"items": ["Sold out."]})


class LimitedView(APIView):
    throttle_scope = "test_scope"

    def get(self, request):
        return Response({"ok": True})


class BrokenView(APIView):
    def get(self, request):
        raise RuntimeError("internal detail that must not leak")


class PlainBrokenView(View):
    def get(self, request):
        raise RuntimeError("internal detail that must not leak")


class PlainView(View):
    def get(self, request):
        return HttpResponse("plain")


class BrokerDownView(APIView):
    """Queues a task on a broker nobody listens on."""

    def post(self, request):
        from mithrapay.celery import app

        with app.connection_for_write("redis://127.0.0.1:1/0") as connection:
            connection.ensure_connection(max_retries=0)
        return Response({"ok": True})
