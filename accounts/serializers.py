from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts import otp
from accounts.models import User
from accounts.phones import normalize_phone

PASSWORD_MAX_LENGTH = 128
# The email column's width; a longer address is a 400 here, not a database
# error on insert.
EMAIL_MAX_LENGTH = 254


class PhoneField(serializers.CharField):
    """A phone number in any usual spelling, answered in E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault(
            "help_text", _("Phone number; without a country code, the shop's region.")
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return normalize_phone(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


def password_field(**kwargs):
    return serializers.CharField(
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        write_only=True,
        style={"input_type": "password"},
        **kwargs,
    )


def code_field():
    return serializers.RegexField(
        r"^\d{6}$",
        max_length=6,
        error_messages={"invalid": _("Enter the 6-digit code.")},
        help_text=_("The 6-digit code sent by SMS."),
    )


class UserSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = User
        fields = (
            "id",
            "email",
            "phone",
            "first_name",
            "last_name",
            "is_phone_verified",
            "date_joined",
        )
        read_only_fields = fields


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField(
        max_length=EMAIL_MAX_LENGTH, required=False, allow_null=True, allow_blank=True
    )
    phone = PhoneField(required=False, allow_null=True, allow_blank=True)
    password = password_field()
    first_name = serializers.CharField(max_length=150, required=False, default="")
    last_name = serializers.CharField(max_length=150, required=False, default="")

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("phone"):
            message = _("Give an email address or a phone number.")
            raise serializers.ValidationError({"email": [message], "phone": [message]})
        return attrs


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, required=False)
    phone = PhoneField(required=False)
    password = password_field()

    def validate(self, attrs):
        if bool(attrs.get("email")) == bool(attrs.get("phone")):
            message = _("Give either an email address or a phone number.")
            raise serializers.ValidationError({"email": [message], "phone": [message]})
        if attrs.get("email"):
            attrs["email"] = attrs["email"].strip().lower()
        return attrs


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text=_("Access token, valid 10 minutes."))
    refresh = serializers.CharField(help_text=_("Refresh token, good for one use."))


class OtpRequestSerializer(serializers.Serializer):
    phone = PhoneField()
    purpose = serializers.ChoiceField(choices=otp.PURPOSES, default=otp.LOGIN)


class OtpSentSerializer(serializers.Serializer):
    detail = serializers.CharField()
    expires_in = serializers.IntegerField(help_text=_("Seconds the code is valid."))
    resend_in = serializers.IntegerField(
        help_text=_("Seconds before another code may be requested.")
    )


class OtpVerifySerializer(serializers.Serializer):
    phone = PhoneField()
    code = code_field()
    purpose = serializers.ChoiceField(choices=[otp.LOGIN], default=otp.LOGIN)


class OtpLoginSerializer(TokenPairSerializer):
    user = UserSerializer()
    created = serializers.BooleanField(
        help_text=_("Whether this sign-in created the account.")
    )


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class PasswordResetSerializer(serializers.Serializer):
    phone = PhoneField()
    code = code_field()
    new_password = password_field()


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class UserUpdateSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(
        max_length=EMAIL_MAX_LENGTH, required=False, allow_null=True, allow_blank=True
    )
    phone = PhoneField(required=False)
    code = serializers.RegexField(
        r"^\d{6}$",
        required=False,
        error_messages={"invalid": _("Enter the 6-digit code.")},
        help_text=_("With a new phone: the code of purpose change_phone sent to it."),
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = password_field()
    new_password = password_field()
