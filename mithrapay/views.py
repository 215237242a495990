from http import HTTPStatus

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from mithrapay import health, site_settings


class RootView(APIView):
    """The service's name, status and environment; touches no database."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Service status",
        responses=inline_serializer(
            "RootStatus",
            {
                "app": serializers.CharField(),
                "status": serializers.CharField(),
                "env": serializers.CharField(),
            },
        ),
    )
    def get(self, request):
        return Response(
            {"app": "MithraPay backend", "status": "ok", "env": settings.APP_ENV}
        )


_Checks = inline_serializer(
    "ReadinessChecks",
    {
        "database": serializers.CharField(help_text="ok, error or timeout"),
        "cache": serializers.CharField(help_text="ok, error or timeout"),
    },
)
_Readiness = inline_serializer(
    "Readiness",
    {
        "status": serializers.CharField(help_text="ok or unavailable"),
        "checks": _Checks,
        "backends": inline_serializer(
            "ReadinessBackends",
            {
                "database": serializers.CharField(help_text="mysql or sqlite"),
                "cache": serializers.CharField(help_text="redis or locmem"),
            },
        ),
        "failed": serializers.ListField(child=serializers.CharField()),
    },
)


class ReadyView(APIView):
    """Whether the database and the cache answer, within about a second."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Readiness of the database and the cache",
        responses={200: _Readiness, 503: _Readiness},
    )
    def get(self, request):
        checks = health.run_checks()
        failed = [name for name, result in checks.items() if result != "ok"]
        body = {
            "status": "unavailable" if failed else "ok",
            "checks": checks,
            "backends": {
                "database": health.database_backend(),
                "cache": health.cache_backend(),
            },
            "failed": failed,
        }
        code = HTTPStatus.SERVICE_UNAVAILABLE if failed else HTTPStatus.OK
        return Response(body, status=code, headers={"Cache-Control": "no-store"})


_PublicSettings = inline_serializer(
    "PublicSettings",
    {
        "support_phone": serializers.CharField(help_text="E.164, or empty"),
        "support_email": serializers.CharField(help_text="an email, or empty"),
        "notice_banner": serializers.CharField(help_text="empty: show no banner"),
        "maintenance": serializers.BooleanField(
            help_text="true while orders, registration and profile writes pause"
        ),
    },
)


class PublicSettingsView(APIView):
    """The site settings customers may see; staff change them in the admin."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(summary="Site settings customers may see", responses=_PublicSettings)
    def get(self, request):
        return Response(site_settings.public_settings())
