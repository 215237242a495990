"""Password rules: Django's validators, with the phone number compared too.

Django's ``UserAttributeSimilarityValidator`` passes over any attribute that
is not a string, and ``User.phone`` is a ``PhoneNumber``: a password equal to
the account's own phone number would be accepted. The validator here reads
the phone as text, in E.164 (``+989123456789``) and as the national digits
(``09123456789``), and compares the password with both. Settings name it
in ``AUTH_PASSWORD_VALIDATORS`` in place of Django's, so the API, the admin's
password forms and ``createsuperuser`` all use it.
"""

from types import SimpleNamespace

from django.contrib.auth import password_validation
from phonenumber_field.phonenumber import to_python

_DjangoSimilarityValidator = password_validation.UserAttributeSimilarityValidator


def phone_as_text(phone) -> str:
    """``"+989123456789 09123456789"``: the spellings a customer would use."""
    number = to_python(phone)
    if not number or not number.is_valid():
        return str(phone or "")
    national = "".join(digit for digit in number.as_national if digit.isdigit())
    return f"{number.as_e164} {national}"


class UserAttributeSimilarityValidator(_DjangoSimilarityValidator):
    """Django's similarity check, which also compares the phone number."""

    def validate(self, password, user=None):
        super().validate(password, user)
        phone = getattr(user, "phone", None) if user is not None else None
        if phone and not isinstance(phone, str) and "phone" in self.user_attributes:
            # Only the phone, as text; the field's verbose name still names
            # it in the message.
            as_text = SimpleNamespace(phone=phone_as_text(phone), _meta=user._meta)
            super().validate(password, as_text)
