"""Phone numbers: parsed with libphonenumber and kept in E.164."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def normalize_phone(value: str) -> str:
    """``"0912 345 6789"`` → ``"+989123456789"`` (default region from settings).

    Raises ``ValidationError`` (code ``invalid_phone``) for anything that is
    not a valid number.
    """
    raw = str(value or "").strip()
    if not raw or len(raw) > 32:
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    try:
        number = phonenumbers.parse(raw, settings.PHONENUMBER_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("Enter a valid phone number."), code="invalid_phone"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a valid phone number."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
