"""Races over the API, with real threads on MariaDB and Redis.

Each thread has its own database connection and sees only committed data
(``transaction=True``); the limits and codes live in the shared Redis.
"""

import threading
from collections import Counter
from http import HTTPStatus

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)

from accounts import otp, sms, tokens
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory
from mithrapay.tests.threads import run_together

pytestmark = [
    pytest.mark.mariadb,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

PHONE = "+989121234567"
NEW_PASSWORD = "a-brand-new-passphrase"


def _statuses(answers) -> Counter:
    return Counter(answer.status_code for answer in answers)


# --- Failed-login limits -----------------------------------------------------


def test_concurrent_wrong_passwords_for_one_account_stop_at_its_limit():
    UserFactory(email="target@example.com")

    answers = run_together(
        30,
        lambda i: APIClient().post(
            "/auth/login",
            {"email": "target@example.com", "password": "wrong-pass-word"},
            REMOTE_ADDR=f"10.7.0.{i}",
        ),
    )

    assert _statuses(answers) == {
        HTTPStatus.UNAUTHORIZED: 10,
        HTTPStatus.TOO_MANY_REQUESTS: 20,
    }
    refused = [a for a in answers if a.status_code == HTTPStatus.TOO_MANY_REQUESTS]
    assert all(int(answer["Retry-After"]) > 0 for answer in refused)


def test_concurrent_wrong_passwords_from_one_ip_stop_at_its_limit():
    answers = run_together(
        30,
        lambda i: APIClient().post(
            "/auth/login",
            {"email": f"guess{i}@example.com", "password": "wrong-pass-word"},
            REMOTE_ADDR="10.7.1.1",
        ),
    )

    assert _statuses(answers) == {
        HTTPStatus.UNAUTHORIZED: 10,
        HTTPStatus.TOO_MANY_REQUESTS: 20,
    }


def test_concurrent_wrong_old_passwords_stop_at_the_account_limit():
    user = UserFactory()

    def change(_index):
        client = APIClient()
        client.force_authenticate(user=user)
        return client.post(
            "/users/me/password",
            {"old_password": "not-the-password", "new_password": NEW_PASSWORD},
        )

    answers = run_together(30, change)

    assert _statuses(answers) == {
        HTTPStatus.BAD_REQUEST: 10,
        HTTPStatus.TOO_MANY_REQUESTS: 20,
    }
    assert {a.json()["code"] for a in answers} == {"wrong_password", "throttled"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# --- Verifying one code from many requests -----------------------------------


def _verify_together(phone: str, code: str, count: int = 8) -> list:
    return run_together(
        count,
        lambda _i: APIClient().post("/auth/verify-otp", {"phone": phone, "code": code}),
    )


def test_concurrent_verifies_of_one_code_create_one_account():
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    answers = _verify_together(PHONE, code)

    winners = [a for a in answers if a.status_code == HTTPStatus.OK]
    losers = [a for a in answers if a.status_code != HTTPStatus.OK]
    assert len(winners) == 1
    assert winners[0].json()["created"] is True
    assert winners[0].json()["access"]
    assert winners[0].json()["refresh"]
    assert {a.status_code for a in losers} == {HTTPStatus.BAD_REQUEST}
    assert {a.json()["code"] for a in losers} == {"otp_invalid"}
    assert User.objects.filter(phone=PHONE).count() == 1
    assert User.objects.get(phone=PHONE).pk == winners[0].json()["user"]["id"]


def test_concurrent_verifies_take_over_a_pre_registered_phone_once():
    squatter = UserFactory(phone=PHONE, is_phone_verified=False)
    stolen = tokens.issue_pair(squatter)
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    answers = _verify_together(PHONE, code)

    winners = [a for a in answers if a.status_code == HTTPStatus.OK]
    losers = [a for a in answers if a.status_code != HTTPStatus.OK]
    assert len(winners) == 1
    assert winners[0].json()["created"] is False
    assert winners[0].json()["user"]["id"] == squatter.pk
    assert {a.json()["code"] for a in losers} == {"otp_invalid"}
    assert User.objects.filter(phone=PHONE).count() == 1
    squatter.refresh_from_db()
    assert squatter.is_phone_verified
    assert not squatter.has_usable_password()
    refresh = APIClient().post("/auth/refresh", {"refresh": stolen["refresh"]})
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED


# --- Requesting codes at once ------------------------------------------------


def test_concurrent_code_requests_for_one_phone_send_one_text():
    answers = run_together(
        10,
        lambda i: APIClient().post(
            "/auth/request-otp", {"phone": PHONE}, REMOTE_ADDR=f"10.8.0.{i}"
        ),
    )

    assert _statuses(answers) == {
        HTTPStatus.ACCEPTED: 1,
        HTTPStatus.TOO_MANY_REQUESTS: 9,
    }
    refused = [a for a in answers if a.status_code == HTTPStatus.TOO_MANY_REQUESTS]
    assert all(0 < int(answer["Retry-After"]) <= 60 for answer in refused)
    assert [message.to for message in sms.outbox] == [PHONE]


def test_concurrent_code_requests_from_one_ip_stop_at_its_cap_leaving_no_mark():
    phones = [f"+98912000{n:04d}" for n in range(30)]

    answers = run_together(
        30,
        lambda i: APIClient().post(
            "/auth/request-otp", {"phone": phones[i]}, REMOTE_ADDR="10.8.1.1"
        ),
    )
    refused = [
        phone
        for phone, answer in zip(phones, answers, strict=True)
        if answer.status_code == HTTPStatus.TOO_MANY_REQUESTS
    ]
    from_elsewhere = [
        APIClient()
        .post("/auth/request-otp", {"phone": phone}, REMOTE_ADDR="10.8.2.2")
        .status_code
        for phone in refused
    ]

    assert _statuses(answers) == {
        HTTPStatus.ACCEPTED: 20,
        HTTPStatus.TOO_MANY_REQUESTS: 10,
    }
    assert from_elsewhere == [HTTPStatus.ACCEPTED] * 10
    assert len(sms.outbox) == 30


# --- Token claims kept waiting -----------------------------------------------


def test_a_refresh_kept_waiting_for_a_row_lock_answers_lock_timeout():
    user = UserFactory()
    raw = tokens.issue_pair(user)["refresh"]
    outstanding = OutstandingToken.objects.get(user=user)
    answers = []

    def refresh():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = 1")
            answers.append(APIClient().post("/auth/refresh", {"refresh": raw}))
        finally:
            connection.close()

    with transaction.atomic():
        # An uncommitted claim of the same token holds the unique key.
        BlacklistedToken.objects.create(token=outstanding)
        worker = threading.Thread(target=refresh)
        worker.start()
        worker.join(timeout=60)
        transaction.set_rollback(True)
    after = APIClient().post("/auth/refresh", {"refresh": raw})

    assert answers[0].status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert answers[0].json()["code"] == "lock_timeout"
    assert after.status_code == HTTPStatus.OK
