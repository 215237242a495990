from http import HTTPStatus

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services, tokens
from accounts.serializers import (
    DetailSerializer,
    LoginSerializer,
    OtpLoginSerializer,
    OtpRequestSerializer,
    OtpSentSerializer,
    OtpVerifySerializer,
    PasswordChangeSerializer,
    PasswordResetSerializer,
    RefreshSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from mithrapay.maintenance import MaintenanceGate
from mithrapay.schema import ErrorSerializer
from mithrapay.throttling import client_ip


def _errors(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


MAINTENANCE = _errors("maintenance: writes are paused while staff work.")
TOKEN_401 = _errors("token_not_valid: invalid, expired, used or revoked token.")
TOKEN_409 = _errors(
    "lock_conflict: claiming the token deadlocked twice with another request; "
    "the token is not used up, try again."
)
TOKEN_503 = _errors(
    "lock_timeout: claiming the token waited too long for a row lock; the "
    "token is not used up, try again."
)
OTP_400 = _errors("validation_error, or otp_invalid: the code is wrong or expired.")
OTP_429 = _errors(
    "otp_locked: too many wrong codes, ask for a new one; Retry-After says when."
)


class PublicAuthView(APIView):
    """Sign-in endpoints: anonymous, and deaf to a stale Authorization header."""

    authentication_classes: list = []
    permission_classes: list = []


class RegisterView(PublicAuthView):
    permission_classes = [MaintenanceGate]
    throttle_scope = "register"

    @extend_schema(
        operation_id="auth_register",
        request=RegisterSerializer,
        responses={
            201: UserSerializer,
            400: _errors("validation_error, email_taken or phone_taken."),
            503: MAINTENANCE,
        },
    )
    def post(self, request):
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=HTTPStatus.CREATED)


class LoginView(PublicAuthView):
    documents_rate_limit = True

    @extend_schema(
        operation_id="auth_login",
        request=LoginSerializer,
        responses={
            200: TokenPairSerializer,
            401: _errors(
                "invalid_credentials: the same answer for an unknown account, a "
                "wrong password, a disabled account and an unverified phone."
            ),
            429: _errors("throttled: too many failed logins; Retry-After says when."),
        },
    )
    def post(self, request):
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.login_with_password(
            **serializer.validated_data, ip=client_ip(request)
        )
        return Response(pair)


class OtpRequestView(PublicAuthView):
    documents_rate_limit = True

    @extend_schema(
        operation_id="auth_request_otp",
        request=OtpRequestSerializer,
        responses={
            202: OtpSentSerializer,
            429: _errors(
                "throttled: resend cooldown, or the hourly cap of the phone or "
                "of the client; no SMS is sent. Retry-After says when."
            ),
        },
    )
    def post(self, request):
        serializer = OtpRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.otp_request(**serializer.validated_data, ip=client_ip(request))
        body = {
            "detail": _("If the number can receive it, a code is on its way."),
            "expires_in": settings.OTP_EXPIRE_SECONDS,
            "resend_in": settings.OTP_RESEND_SECONDS,
        }
        return Response(OtpSentSerializer(body).data, status=HTTPStatus.ACCEPTED)


class OtpVerifyView(PublicAuthView):
    documents_rate_limit = True

    @extend_schema(
        operation_id="auth_verify_otp",
        request=OtpVerifySerializer,
        responses={
            200: OtpLoginSerializer,
            400: OTP_400,
            403: _errors("account_inactive: the account is disabled."),
            429: OTP_429,
        },
    )
    def post(self, request):
        serializer = OtpVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, created, pair = services.otp_login(
            phone=serializer.validated_data["phone"],
            code=serializer.validated_data["code"],
        )
        body = {**pair, "user": user, "created": created}
        return Response(OtpLoginSerializer(body).data)


class RefreshView(PublicAuthView):
    @extend_schema(
        operation_id="auth_refresh",
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            401: TOKEN_401,
            409: TOKEN_409,
            503: TOKEN_503,
        },
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = tokens.rotate(refresh=serializer.validated_data["refresh"])
        return Response(pair)


class LogoutView(PublicAuthView):
    @extend_schema(
        operation_id="auth_logout",
        request=RefreshSerializer,
        responses={
            205: OpenApiResponse(description="Signed out."),
            401: TOKEN_401,
            409: TOKEN_409,
            503: TOKEN_503,
        },
    )
    def post(self, request):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens.revoke(refresh=serializer.validated_data["refresh"])
        return Response(status=HTTPStatus.RESET_CONTENT)


class PasswordResetView(PublicAuthView):
    documents_rate_limit = True

    @extend_schema(
        operation_id="auth_reset_password",
        request=PasswordResetSerializer,
        responses={200: DetailSerializer, 400: OTP_400, 429: OTP_429},
    )
    def post(self, request):
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset(**serializer.validated_data)
        return Response({"detail": _("Your password has been changed.")})


class MeView(APIView):
    permission_classes = [IsAuthenticated, MaintenanceGate]

    @extend_schema(operation_id="users_me", responses={200: UserSerializer})
    def get(self, request):
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        operation_id="users_me_update",
        request=UserUpdateSerializer,
        responses={
            200: UserSerializer,
            400: _errors(
                "validation_error, email_taken, phone_taken, or otp_invalid for "
                "the code sent to a new phone."
            ),
            429: OTP_429,
            503: MAINTENANCE,
        },
    )
    def patch(self, request):
        serializer = UserUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **serializer.validated_data)
        return Response(UserSerializer(user).data)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated, MaintenanceGate]
    documents_rate_limit = True

    @extend_schema(
        operation_id="users_me_password",
        request=PasswordChangeSerializer,
        responses={
            200: TokenPairSerializer,
            400: _errors("validation_error, or wrong_password."),
            429: _errors("throttled: too many wrong passwords; Retry-After says when."),
            503: MAINTENANCE,
        },
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.password_change(user=request.user, **serializer.validated_data)
        return Response(pair)
