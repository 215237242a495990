import threading
from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import tokens
from accounts.tasks import flush_expired_tokens
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _pair(user) -> dict:
    return tokens.issue_pair(user)


def _refresh(raw):
    return APIClient().post("/auth/refresh", {"refresh": raw})


def _me(bearer, raw):
    return bearer(raw).get("/users/me")


def test_tokens_are_signed_with_jwt_secret_and_carry_audience_and_issuer(user):
    access = _pair(user)["access"]

    claims = jwt.decode(
        access,
        settings.JWT_SECRET,
        algorithms=["HS256"],
        audience="mithrapay-api",
        issuer="mithrapay",
    )

    assert settings.JWT_SECRET != settings.SECRET_KEY
    assert claims["user_id"] == str(user.pk)
    assert claims["exp"] - claims["iat"] == 600


def test_refresh_token_lives_seven_days(user):
    refresh = RefreshToken(_pair(user)["refresh"])

    assert refresh["exp"] - refresh["iat"] == 7 * 86400


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/refresh/"])
def test_refresh_rotates_and_the_old_token_is_refused_after(user, bearer, path):
    old = _pair(user)

    rotated = APIClient().post(path, {"refresh": old["refresh"]})
    reused = _refresh(old["refresh"])

    assert rotated.status_code == HTTPStatus.OK
    assert set(rotated.json()) == {"access", "refresh"}
    assert rotated.json()["refresh"] != old["refresh"]
    assert _me(bearer, rotated.json()["access"]).status_code == HTTPStatus.OK
    assert _refresh(rotated.json()["refresh"]).status_code == HTTPStatus.OK
    assert reused.status_code == HTTPStatus.UNAUTHORIZED
    assert reused.json()["code"] == "token_not_valid"


def test_logout_blacklists_the_refresh_token(user):
    pair = _pair(user)

    response = APIClient().post("/auth/logout", {"refresh": pair["refresh"]})

    assert response.status_code == HTTPStatus.RESET_CONTENT
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    assert _refresh(pair["refresh"]).status_code == HTTPStatus.UNAUTHORIZED


def test_logout_twice_is_refused(user):
    pair = _pair(user)
    APIClient().post("/auth/logout", {"refresh": pair["refresh"]})

    response = APIClient().post("/auth/logout/", {"refresh": pair["refresh"]})

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_alg_none_token_is_refused(user, bearer):
    claims = jwt.decode(_pair(user)["access"], options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")

    response = _me(bearer, unsigned)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def test_refresh_token_sent_as_access_token_is_refused(user, bearer):
    response = _me(bearer, _pair(user)["refresh"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_access_token_sent_as_refresh_token_is_refused(user):
    response = _refresh(_pair(user)["access"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "token_not_valid"


def test_expired_access_token_is_refused(user, bearer):
    access = AccessToken.for_user(user)
    access.set_exp(lifetime=timedelta(seconds=-1))

    response = _me(bearer, str(access))

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_expired_refresh_token_is_refused(user):
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(lifetime=timedelta(seconds=-1))

    response = _refresh(str(refresh))

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("key", "audience", "issuer"),
    [
        ("JWT_SECRET", "other-api", "mithrapay"),
        ("JWT_SECRET", "mithrapay-api", "someone-else"),
        ("JWT_SECRET", None, "mithrapay"),
        ("SECRET_KEY", "mithrapay-api", "mithrapay"),
    ],
    ids=["wrong-audience", "wrong-issuer", "no-audience", "signed-with-secret-key"],
)
def test_foreign_tokens_are_refused(user, bearer, key, audience, issuer):
    claims = jwt.decode(_pair(user)["access"], options={"verify_signature": False})
    claims.pop("aud")
    claims["iss"] = issuer
    if audience:
        claims["aud"] = audience
    forged = jwt.encode(claims, getattr(settings, key), algorithm="HS256")

    response = _me(bearer, forged)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_tokens_of_a_deactivated_user_are_refused(user, bearer):
    pair = _pair(user)
    user.is_active = False
    user.save()

    access = _me(bearer, pair["access"])
    refresh = _refresh(pair["refresh"])

    assert access.status_code == HTTPStatus.UNAUTHORIZED
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED


def test_refresh_of_a_deleted_user_is_refused(user):
    pair = _pair(user)
    user.delete()

    response = _refresh(pair["refresh"])

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("raw", ["", "x", "a.b.c", "ey" * 3000])
def test_garbage_refresh_tokens_are_clean_errors(raw):
    response = _refresh(raw)

    assert response.status_code in {HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED}
    assert response.json()["code"] in {"validation_error", "token_not_valid"}


def test_revoke_all_for_blacklists_every_open_refresh_token(user):
    first, second = _pair(user), _pair(user)
    other_user_pair = _pair(UserFactory())

    revoked = tokens.revoke_all_for(user)

    assert revoked == 2
    assert _refresh(first["refresh"]).status_code == HTTPStatus.UNAUTHORIZED
    assert _refresh(second["refresh"]).status_code == HTTPStatus.UNAUTHORIZED
    assert _refresh(other_user_pair["refresh"]).status_code == HTTPStatus.OK


def test_flush_expired_tokens_deletes_only_expired_ones(user):
    live = _pair(user)
    expired = OutstandingToken.objects.create(
        user=user,
        jti="expired-jti",
        token="-",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    BlacklistedToken.objects.create(token=expired)

    flush_expired_tokens.delay()

    assert not OutstandingToken.objects.filter(jti="expired-jti").exists()
    assert not BlacklistedToken.objects.filter(token_id=expired.pk).exists()
    assert _refresh(live["refresh"]).status_code == HTTPStatus.OK


def test_flush_runs_daily_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["accounts-flush-expired-tokens"]

    assert entry["task"] == flush_expired_tokens.name
    assert entry["schedule"] == timedelta(days=1)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_succeed_once():
    user = UserFactory()
    for _round in range(5):
        raw = tokens.issue_pair(user)["refresh"]
        barrier = threading.Barrier(6)
        answers: list[str] = []

        def attempt(raw=raw, barrier=barrier, answers=answers):
            try:
                barrier.wait()
                try:
                    tokens.rotate(refresh=raw)
                    answers.append("ok")
                except tokens.TokenInvalid:
                    answers.append("refused")
            finally:
                connection.close()

        workers = [threading.Thread(target=attempt) for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        assert sorted(answers) == ["ok"] + ["refused"] * 5
