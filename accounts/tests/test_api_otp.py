import logging
import time
from http import HTTPStatus

import pytest
from constance.test.pytest import override_config
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import otp, roles, sms
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+989121234567"
NEW_PASSWORD = "a-brand-new-passphrase"


def _verify(phone, code, client=None, **body):
    client = client or APIClient()
    return client.post("/auth/verify-otp", {"phone": phone, "code": code, **body})


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def _end_cooldown(phone: str) -> None:
    """Skip the 60-second resend cooldown, as a minute passing would."""
    cache.delete(f"otp:cooldown:{phone}")


# --- Requesting a code -------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth/request-otp", "/auth/request-otp/"])
def test_request_otp_texts_a_code(path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(path, {"phone": "0912 123 4567"})

    assert response.status_code == HTTPStatus.ACCEPTED
    body = response.json()
    assert body["expires_in"] == 120
    assert body["resend_in"] == 60
    assert [message.to for message in sms.outbox] == [PHONE]


def test_request_otp_sends_after_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        APIClient().post("/auth/request-otp", {"phone": PHONE})

    assert sms.outbox == []
    assert len(callbacks) == 1


@pytest.mark.parametrize("purpose", ["login", "reset_password", "change_phone"])
def test_request_otp_answers_the_same_for_known_and_unknown_phones(ask_code, purpose):
    UserFactory(phone=PHONE, verified=True)

    known = ask_code(PHONE, purpose)
    unknown = ask_code("+989121234560", purpose)

    assert known.status_code == unknown.status_code == HTTPStatus.ACCEPTED
    assert known.content == unknown.content


def test_request_otp_answers_the_same_at_the_limit_for_known_and_unknown(ask_code):
    UserFactory(phone=PHONE, verified=True)
    ask_code(PHONE)
    ask_code("+989121234560")

    known = ask_code(PHONE)
    unknown = ask_code("+989121234560")

    assert known.status_code == unknown.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert known.content == unknown.content


def test_request_otp_refuses_an_invalid_phone(ask_code):
    response = ask_code("+98 12")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["phone"]
    assert sms.outbox == []


def test_request_otp_refuses_an_unknown_purpose(ask_code):
    response = ask_code(PHONE, "admin")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["purpose"]


def test_resend_cooldown_refuses_a_second_code_within_a_minute(ask_code):
    ask_code(PHONE)

    response = ask_code(PHONE, "reset_password")

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(response["Retry-After"]) <= 60
    assert len(sms.outbox) == 1


def test_at_most_five_codes_per_phone_per_hour(ask_code):
    for _ in range(5):
        _end_cooldown(PHONE)
        ask_code(PHONE)
    _end_cooldown(PHONE)

    response = ask_code(PHONE)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) <= 3600
    assert len(sms.outbox) == 5


def test_at_most_twenty_codes_per_client_ip_per_hour(ask_code):
    for n in range(20):
        ask_code(f"+98912000{n:04d}", REMOTE_ADDR="10.1.1.1")

    refused = ask_code("+989120009999", REMOTE_ADDR="10.1.1.1")
    elsewhere = ask_code("+989120009999", REMOTE_ADDR="10.1.1.2")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(refused["Retry-After"]) > 0
    assert elsewhere.status_code == HTTPStatus.ACCEPTED
    assert len(sms.outbox) == 21


def test_request_otp_keeps_working_during_maintenance(ask_code):
    with override_config(MAINTENANCE_MODE=True):
        response = ask_code(PHONE)

    assert response.status_code == HTTPStatus.ACCEPTED


def test_reset_code_is_texted_only_to_a_known_phone(ask_code):
    ask_code("+989121234560", "reset_password")

    assert sms.outbox == []


@pytest.fixture
def broker_down(monkeypatch):
    """Celery publishing for real, to a broker nobody listens on."""
    from mithrapay.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    # Connections pooled for the usual broker are set aside for this test.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)


@pytest.mark.django_db(transaction=True)
def test_request_otp_answers_as_usual_when_the_broker_is_down(
    broker_down, monkeypatch, caplog
):
    monkeypatch.setattr(otp, "generate_code", lambda: "482913")
    caplog.set_level(logging.DEBUG)

    response = APIClient().post("/auth/request-otp", {"phone": PHONE})

    assert response.status_code == HTTPStatus.ACCEPTED
    assert sms.outbox == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == ["sms not queued: broker unreachable"]
    assert "482913" not in caplog.text
    assert all("482913" not in repr(vars(record)) for record in caplog.records)
    again = APIClient().post("/auth/request-otp", {"phone": PHONE})
    assert again.status_code == HTTPStatus.TOO_MANY_REQUESTS


# --- Signing in with a code --------------------------------------------------


def test_first_phone_login_creates_a_verified_customer(ask_code, sent_code):
    ask_code(PHONE)

    response = _verify(PHONE, sent_code(PHONE))

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["created"] is True
    assert body["user"]["phone"] == PHONE
    assert body["user"]["is_phone_verified"] is True
    assert body["access"]
    assert body["refresh"]
    user = User.objects.get(phone=PHONE)
    assert not user.has_usable_password()
    assert list(user.groups.values_list("name", flat=True)) == [roles.CUSTOMER]


def test_later_phone_login_finds_the_same_account(ask_code, sent_code):
    ask_code(PHONE)
    first = _verify(PHONE, sent_code(PHONE)).json()
    _end_cooldown(PHONE)
    ask_code(PHONE)

    second = _verify(PHONE, sent_code(PHONE)).json()

    assert second["created"] is False
    assert second["user"]["id"] == first["user"]["id"]
    assert User.objects.count() == 1


def test_a_code_is_single_use(ask_code, sent_code):
    ask_code(PHONE)
    code = sent_code(PHONE)
    _verify(PHONE, code)

    response = _verify(PHONE, code)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "otp_invalid"


def test_fifth_wrong_code_locks_until_a_new_code(ask_code, sent_code):
    ask_code(PHONE)
    code = sent_code(PHONE)

    wrong = [_verify(PHONE, _wrong(code)).json()["code"] for _ in range(5)]
    locked = _verify(PHONE, code)
    _end_cooldown(PHONE)
    ask_code(PHONE)
    fresh = _verify(PHONE, sent_code(PHONE))

    assert wrong == ["otp_invalid"] * 5
    assert locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert locked.json()["code"] == "otp_locked"
    assert int(locked["Retry-After"]) > 0
    assert fresh.status_code == HTTPStatus.OK


def _lock(phone: str, code: str) -> None:
    for _ in range(5):
        _verify(phone, _wrong(code))


def test_a_request_refused_by_the_cooldown_keeps_the_lock(ask_code, sent_code):
    ask_code(PHONE)
    code = sent_code(PHONE)
    _lock(PHONE, code)

    refused = ask_code(PHONE)
    still_locked = _verify(PHONE, code)

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert len(sms.outbox) == 1
    assert still_locked.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert still_locked.json()["code"] == "otp_locked"


def test_a_new_code_once_the_cooldown_ends_lifts_the_lock(
    settings, ask_code, sent_code
):
    settings.OTP_RESEND_SECONDS = 1
    ask_code(PHONE)
    _lock(PHONE, sent_code(PHONE))
    locked = _verify(PHONE, sent_code(PHONE))
    time.sleep(1.1)

    again = ask_code(PHONE)
    response = _verify(PHONE, sent_code(PHONE))

    assert locked.json()["code"] == "otp_locked"
    assert again.status_code == HTTPStatus.ACCEPTED
    assert response.status_code == HTTPStatus.OK
    assert response.json()["created"] is True


def test_locked_answer_waits_only_for_the_rest_of_the_cooldown(ask_code, sent_code):
    ask_code(PHONE)
    code = sent_code(PHONE)
    _lock(PHONE, code)
    during = _verify(PHONE, code)
    _end_cooldown(PHONE)

    after = _verify(PHONE, code)

    assert 0 < int(during["Retry-After"]) <= 60
    assert after.json()["code"] == "otp_locked"
    assert after["Retry-After"] == "1"


def test_a_reset_code_does_not_sign_in(ask_code, sent_code):
    UserFactory(phone=PHONE, verified=True)
    ask_code(PHONE, "reset_password")

    response = _verify(PHONE, sent_code(PHONE))

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "otp_invalid"


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_verify_refuses_a_malformed_code(code):
    response = _verify(PHONE, code)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["code"]


def test_verify_refuses_a_disabled_account(ask_code, sent_code):
    UserFactory(phone=PHONE, verified=True, is_active=False)
    ask_code(PHONE)

    response = _verify(PHONE, sent_code(PHONE))

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "account_inactive"


def test_the_phone_owner_takes_back_a_number_registered_by_someone_else(
    ask_code, sent_code, bearer
):
    squatter = APIClient()
    squatter.post(
        "/auth/register",
        {"email": "squatter@example.com", "phone": PHONE, "password": PASSWORD},
    )
    stolen = squatter.post(
        "/auth/login", {"email": "squatter@example.com", "password": PASSWORD}
    ).json()
    ask_code(PHONE)

    owner = _verify(PHONE, sent_code(PHONE))

    assert owner.status_code == HTTPStatus.OK
    assert owner.json()["created"] is False
    assert owner.json()["user"]["is_phone_verified"] is True
    user = User.objects.get(phone=PHONE)
    assert not user.has_usable_password()
    by_email = squatter.post(
        "/auth/login", {"email": "squatter@example.com", "password": PASSWORD}
    )
    by_phone = squatter.post("/auth/login", {"phone": PHONE, "password": PASSWORD})
    refresh = squatter.post("/auth/refresh", {"refresh": stolen["refresh"]})
    access = bearer(stolen["access"]).get("/users/me")
    assert by_email.status_code == HTTPStatus.UNAUTHORIZED
    assert by_phone.status_code == HTTPStatus.UNAUTHORIZED
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED
    assert access.status_code == HTTPStatus.UNAUTHORIZED
    assert bearer(owner.json()["access"]).get("/users/me").status_code == 200


# --- Resetting the password --------------------------------------------------


def test_reset_password_sets_it_and_ends_every_session(ask_code, sent_code, bearer):
    user = UserFactory(phone=PHONE, verified=True, email="reset@example.com")
    old = (
        APIClient()
        .post("/auth/login", {"email": "reset@example.com", "password": PASSWORD})
        .json()
    )
    ask_code(PHONE, "reset_password")

    response = APIClient().post(
        "/auth/reset-password",
        {"phone": PHONE, "code": sent_code(PHONE), "new_password": NEW_PASSWORD},
    )

    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    refresh = APIClient().post("/auth/refresh", {"refresh": old["refresh"]})
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED
    assert bearer(old["access"]).get("/users/me").status_code == 401
    login = APIClient().post("/auth/login", {"phone": PHONE, "password": NEW_PASSWORD})
    assert login.status_code == HTTPStatus.OK


def test_reset_password_refuses_a_login_code(ask_code, sent_code):
    user = UserFactory(phone=PHONE, verified=True)
    ask_code(PHONE)

    response = APIClient().post(
        "/auth/reset-password",
        {"phone": PHONE, "code": sent_code(PHONE), "new_password": NEW_PASSWORD},
    )

    assert response.json()["code"] == "otp_invalid"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_reset_password_of_an_unknown_phone_is_a_wrong_code(ask_code):
    ask_code(PHONE, "reset_password")

    response = APIClient().post(
        "/auth/reset-password",
        {"phone": PHONE, "code": "123456", "new_password": NEW_PASSWORD},
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "otp_invalid"
    assert not User.objects.exists()


def test_reset_password_checks_the_password_before_using_the_code(ask_code, sent_code):
    UserFactory(phone=PHONE, verified=True)
    ask_code(PHONE, "reset_password")
    code = sent_code(PHONE)

    weak = APIClient().post(
        "/auth/reset-password", {"phone": PHONE, "code": code, "new_password": "abc"}
    )
    strong = APIClient().post(
        "/auth/reset-password",
        {"phone": PHONE, "code": code, "new_password": NEW_PASSWORD},
    )

    assert weak.status_code == HTTPStatus.BAD_REQUEST
    assert "new_password" in weak.json()["fields"]
    assert strong.status_code == HTTPStatus.OK
