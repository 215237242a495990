"""``AccessTokenAuthentication``: the token's user, read through a compiled
statement, with simplejwt's checks."""

from http import HTTPStatus

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIRequestFactory
from rest_framework_simplejwt.exceptions import AuthenticationFailed

from accounts import tokens
from accounts.authentication import AccessTokenAuthentication

pytestmark = pytest.mark.django_db


def _me(bearer, access):
    return bearer(access).get("/users/me")


def test_the_user_is_the_row_the_orm_reads(user):
    access = tokens.issue_pair(user)["access"]
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}")

    authenticated, _token = AccessTokenAuthentication().authenticate(request)

    stored = get_user_model().objects.get(pk=user.pk)
    assert type(authenticated) is type(stored)
    assert not authenticated._state.adding
    for field in stored._meta.concrete_fields:
        assert getattr(authenticated, field.attname) == getattr(
            stored, field.attname
        ), field.name


def _refusal(access) -> str:
    """The code simplejwt's checks give when authentication refuses ``access``."""
    token = AccessTokenAuthentication().get_validated_token(access.encode())
    with pytest.raises(AuthenticationFailed) as refused:
        AccessTokenAuthentication().get_user(token)
    return str(refused.value.detail["code"])


def test_the_token_of_a_deleted_user_is_refused(user, bearer):
    access = tokens.issue_pair(user)["access"]
    user.delete()

    response = _me(bearer, access)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert _refusal(access) == "user_not_found"


def test_the_token_of_a_deactivated_user_is_refused(user, bearer):
    access = tokens.issue_pair(user)["access"]
    user.is_active = False
    user.save()

    response = _me(bearer, access)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert _refusal(access) == "user_inactive"


def test_a_token_issued_before_a_new_password_is_refused(user, bearer):
    access = tokens.issue_pair(user)["access"]
    user.set_password("a-different-password-42")
    user.save()

    response = _me(bearer, access)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert _refusal(access) == "password_changed"


@pytest.mark.parametrize("user_id", [None, "not-a-number", "99999999999"])
def test_a_token_without_a_known_user_id_is_refused(user, bearer, user_id):
    claims = jwt.decode(
        tokens.issue_pair(user)["access"], options={"verify_signature": False}
    )
    if user_id is None:
        claims.pop("user_id")
    else:
        claims["user_id"] = user_id
    forged = jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")

    response = _me(bearer, forged)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
