import pytest
from django.contrib.auth.password_validation import (
    UserAttributeSimilarityValidator as DjangoSimilarityValidator,
)
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts import passwords
from accounts.models import User

SIMILARITY = {
    "NAME": "accounts.passwords.UserAttributeSimilarityValidator",
    "OPTIONS": {"user_attributes": ("email", "phone", "first_name", "last_name")},
}


def test_phone_is_read_in_e164_and_national_digits():
    user = User(phone="0912 345 6789")

    assert passwords.phone_as_text(user.phone) == "+989123456789 09123456789"


@pytest.mark.parametrize("password", ["+989123456789", "09123456789!", "989123456789"])
def test_similarity_validator_refuses_the_phone_number(password):
    user = User(phone="+989123456789")
    validator = passwords.UserAttributeSimilarityValidator(user_attributes=("phone",))

    with pytest.raises(ValidationError) as raised:
        validator.validate(password, user)

    assert raised.value.error_list[0].code == "password_too_similar"
    assert "phone" in raised.value.messages[0]


def test_similarity_validator_accepts_a_password_unlike_the_phone():
    user = User(phone="+989123456789", email="someone@example.com")
    validator = passwords.UserAttributeSimilarityValidator(
        user_attributes=("email", "phone")
    )

    validator.validate("correct-horse-battery", user)


def test_djangos_validator_alone_passes_over_the_phone():
    # Why the project needs its own: Django's skips non-string attributes.
    user = User(phone="+989123456789")

    DjangoSimilarityValidator(user_attributes=("phone",)).validate(
        "+989123456789", user
    )


def test_settings_naming_the_project_validator_check_the_phone_once(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [SIMILARITY]
    user = User(phone="+989123456789")

    with pytest.raises(ValidationError) as raised:
        validate_password("+989123456789", user)

    assert len(raised.value.messages) == 1


def test_the_configured_validators_compare_the_phone():
    user = User(phone="+989123456789")

    with pytest.raises(ValidationError) as raised:
        validate_password("+989123456789", user)

    assert "password_too_similar" in [error.code for error in raised.value.error_list]
