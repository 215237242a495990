from http import HTTPStatus

import pytest
from constance.test.pytest import override_config
from django.contrib.auth.hashers import MD5PasswordHasher
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase"


def _register(client, **body):
    return client.post("/auth/register", body, format="json")


def _login(client, *, ip: str = "127.0.0.1", **body):
    return client.post("/auth/login", body, format="json", REMOTE_ADDR=ip)


def _email(length: int) -> str:
    """A well-formed address of ``length`` characters (labels of 63 at most)."""
    head = "a" * 64 + "@"
    labels = ""
    while len(head) + len(labels) + 63 + len(".com") < length:
        labels += "b" * 63 + "."
    last = length - len(head) - len(labels) - len(".com")
    return f"{head}{labels}{'c' * last}.com"


# --- Registration ------------------------------------------------------------


def test_register_answers_the_user_without_secrets(anon):
    response = _register(
        anon,
        email="New.Customer@Example.com",
        phone="0912 345 6789",
        password=PASSWORD,
        first_name="Sara",
        last_name="Karimi",
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "phone",
        "first_name",
        "last_name",
        "is_phone_verified",
        "date_joined",
    }
    assert body["email"] == "new.customer@example.com"
    assert body["phone"] == "+989123456789"
    assert body["is_phone_verified"] is False
    user = User.objects.get(pk=body["id"])
    assert user.check_password(PASSWORD)
    assert user.password not in response.content.decode()


def test_register_puts_the_customer_in_the_customer_group(anon):
    response = _register(anon, email="joiner@example.com", password=PASSWORD)

    user = User.objects.get(pk=response.json()["id"])
    assert list(user.groups.values_list("name", flat=True)) == [roles.CUSTOMER]


@pytest.mark.parametrize(
    ("path"), ["/auth/register", "/auth/register/"], ids=["bare", "slash"]
)
def test_register_answers_with_and_without_trailing_slash(anon, path):
    response = anon.post(path, {"email": "slash@example.com", "password": PASSWORD})

    assert response.status_code == HTTPStatus.CREATED


def test_register_refuses_a_taken_email_in_any_case(anon):
    UserFactory(email="taken@example.com")

    response = _register(anon, email="TAKEN@example.com", password=PASSWORD)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "email_taken"
    assert User.objects.count() == 1


def test_register_refuses_a_taken_phone_in_any_spelling(anon):
    UserFactory(phone="+989123456789")

    response = _register(anon, phone="09123456789", password=PASSWORD)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "phone_taken"


def test_register_needs_an_email_or_a_phone(anon):
    response = _register(anon, password=PASSWORD, first_name="Nobody")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "password",
    ["short1!", "password123", "12345678901", "x" * 129, "sara.karimi.shop"],
    ids=["too-short", "common", "numeric", "too-long", "like-the-email"],
)
def test_register_checks_the_password(anon, password):
    response = _register(anon, email="sara.karimi.shop@example.com", password=password)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert "password" in response.json()["fields"]
    assert not User.objects.exists()


@pytest.mark.parametrize("length", [255, 260, 320])
def test_register_refuses_an_email_longer_than_its_column(anon, length):
    response = _register(anon, email=_email(length), password=PASSWORD)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["email"]
    assert not User.objects.exists()


def test_register_accepts_an_email_as_long_as_its_column(anon):
    email = _email(254)

    response = _register(anon, email=email, password=PASSWORD)

    assert response.status_code == HTTPStatus.CREATED
    assert User.objects.get().email == email


@pytest.mark.parametrize("password", ["+989123456789", "09123456789!"])
def test_register_refuses_a_password_like_the_phone(anon, password):
    response = _register(anon, phone="09123456789", password=password)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["password"]
    assert not User.objects.exists()


def test_register_refuses_an_invalid_phone_on_the_phone_field(anon):
    response = _register(anon, phone="12345", password=PASSWORD)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == ["phone"]


def test_register_is_limited_per_client_ip(anon):
    for n in range(10):
        _register(anon, email=f"burst{n}@example.com", password=PASSWORD)

    response = _register(anon, email="burst10@example.com", password=PASSWORD)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) > 0
    assert User.objects.count() == 10


def test_register_pauses_during_maintenance(anon):
    with override_config(MAINTENANCE_MODE=True):
        response = _register(anon, email="later@example.com", password=PASSWORD)

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "maintenance"
    assert not User.objects.exists()


# --- Password login ----------------------------------------------------------


def test_login_by_email_answers_a_token_pair(anon):
    UserFactory(email="shopper@example.com")

    response = _login(anon, email="Shopper@Example.com", password=PASSWORD)

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {"access", "refresh"}


def test_login_by_verified_phone_works(anon):
    UserFactory(phone="+989123456789", verified=True)

    response = _login(anon, phone="09123456789", password=PASSWORD)

    assert response.status_code == HTTPStatus.OK


def test_login_keeps_working_during_maintenance(anon):
    UserFactory(email="shopper@example.com")

    with override_config(MAINTENANCE_MODE=True):
        response = _login(anon, email="shopper@example.com", password=PASSWORD)

    assert response.status_code == HTTPStatus.OK


def test_login_needs_exactly_one_of_email_and_phone(anon):
    response = _login(
        anon, email="a@example.com", phone="+989123456789", password=PASSWORD
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"


def _same_answer(first, second):
    assert first.status_code == second.status_code == HTTPStatus.UNAUTHORIZED
    assert first.content == second.content
    assert first.json()["code"] == "invalid_credentials"


def test_login_answers_the_same_for_wrong_password_and_unknown_email(anon):
    UserFactory(email="known@example.com")

    wrong_password = _login(anon, email="known@example.com", password="nope-nope-1")
    unknown = _login(anon, email="unknown@example.com", password="nope-nope-1")

    _same_answer(wrong_password, unknown)


def test_login_answers_the_same_for_unverified_and_unknown_phone(anon):
    UserFactory(phone="+989123456789", is_phone_verified=False)

    unverified = _login(anon, phone="+989123456789", password=PASSWORD)
    unknown = _login(anon, phone="+989123456780", password=PASSWORD)

    _same_answer(unverified, unknown)


def test_login_answers_the_same_for_disabled_and_unknown_accounts(anon):
    UserFactory(email="gone@example.com", is_active=False)

    disabled = _login(anon, email="gone@example.com", password=PASSWORD)
    unknown = _login(anon, email="never@example.com", password=PASSWORD)

    _same_answer(disabled, unknown)


def test_login_hashes_a_password_even_for_unknown_accounts(anon, monkeypatch):
    UserFactory(email="known@example.com")
    calls = []
    real_encode = MD5PasswordHasher.encode
    monkeypatch.setattr(
        MD5PasswordHasher,
        "encode",
        lambda self, password, salt: (
            calls.append(1) or real_encode(self, password, salt)
        ),
    )

    _login(anon, email="unknown@example.com", password="nope-nope-1")
    unknown_calls = len(calls)
    _login(anon, email="known@example.com", password="nope-nope-1")

    assert unknown_calls == 1
    assert len(calls) == 2


def test_login_failures_lock_the_account_for_the_hour(anon):
    UserFactory(email="target@example.com")
    for n in range(10):
        _login(
            anon,
            email="target@example.com",
            password="wrong-pass-word",
            ip=f"10.0.0.{n}",
        )

    response = anon.post(
        "/auth/login",
        {"email": "target@example.com", "password": PASSWORD},
        REMOTE_ADDR="10.0.1.1",
    )

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_login_failures_from_one_ip_are_limited(anon):
    for n in range(10):
        _login(anon, email=f"guess{n}@example.com", password="wrong-pass-word")
    UserFactory(email="real@example.com")

    response = _login(anon, email="real@example.com", password=PASSWORD)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) <= 15 * 60


def test_successful_logins_are_not_counted(anon):
    UserFactory(email="regular@example.com")

    answers = [
        _login(anon, email="regular@example.com", password=PASSWORD).status_code
        for _ in range(15)
    ]

    assert answers == [HTTPStatus.OK] * 15


def test_a_successful_login_gives_its_slot_back(anon):
    UserFactory(email="mixed@example.com")
    for n in range(9):
        _login(
            anon,
            email="mixed@example.com",
            password="wrong-pass-word",
            ip=f"10.0.0.{n}",
        )
    successes = [
        _login(
            anon, email="mixed@example.com", password=PASSWORD, ip="10.0.2.1"
        ).status_code
        for _ in range(5)
    ]

    tenth = _login(anon, email="mixed@example.com", password="wrong", ip="10.0.3.1")
    eleventh = _login(anon, email="mixed@example.com", password="wrong", ip="10.0.3.2")

    assert successes == [HTTPStatus.OK] * 5
    assert tenth.status_code == HTTPStatus.UNAUTHORIZED
    assert eleventh.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_a_refused_login_does_not_count_against_its_ip(anon):
    UserFactory(email="locked@example.com")
    UserFactory(email="other@example.com")
    for n in range(10):
        _login(
            anon,
            email="locked@example.com",
            password="wrong-pass-word",
            ip=f"10.0.0.{n}",
        )
    refused = [
        _login(
            anon, email="locked@example.com", password="wrong", ip="10.0.5.5"
        ).status_code
        for _ in range(10)
    ]

    response = _login(anon, email="other@example.com", password=PASSWORD, ip="10.0.5.5")

    assert refused == [HTTPStatus.TOO_MANY_REQUESTS] * 10
    assert response.status_code == HTTPStatus.OK


def test_login_runs_a_bounded_number_of_queries(anon, django_assert_max_num_queries):
    UserFactory(email="counted@example.com")

    with django_assert_max_num_queries(3):
        response = _login(anon, email="counted@example.com", password=PASSWORD)

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"email": ["a"], "password": {"x": 1}}', b"null"],
)
def test_malformed_login_bodies_are_clean_errors(anon, body):
    response = anon.generic(
        "POST", "/auth/login", body, content_type="application/json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] in {"parse_error", "validation_error"}


# --- The signed-in customer --------------------------------------------------


def _signed_in(bearer, user):
    pair = _login(APIClient(), email=user.email, password=PASSWORD).json()
    return bearer(pair["access"]), pair


def test_me_needs_a_token(anon):
    response = anon.get("/users/me")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_me_shows_the_profile_without_secrets(bearer, django_assert_max_num_queries):
    user = UserFactory(email="me@example.com")
    client, _pair = _signed_in(bearer, user)

    with django_assert_max_num_queries(1):
        response = client.get("/users/me/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["email"] == "me@example.com"
    assert "password" not in response.json()


def test_me_is_readable_during_maintenance(bearer):
    client, _pair = _signed_in(bearer, UserFactory())

    with override_config(MAINTENANCE_MODE=True):
        response = client.get("/users/me")

    assert response.status_code == HTTPStatus.OK


def test_me_update_changes_names_and_email(bearer):
    user = UserFactory(email="old@example.com")
    client, _pair = _signed_in(bearer, user)

    response = client.patch(
        "/users/me",
        {"first_name": "Nima", "email": "New@Example.com"},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert user.first_name == "Nima"
    assert user.email == "new@example.com"


def test_me_update_refuses_a_taken_email(bearer):
    UserFactory(email="someone@example.com")
    user = UserFactory(email="me@example.com")
    client, _pair = _signed_in(bearer, user)

    response = client.patch("/users/me", {"email": "SOMEONE@example.com"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "email_taken"
    user.refresh_from_db()
    assert user.email == "me@example.com"


@pytest.mark.parametrize("length", [255, 260])
def test_me_update_refuses_an_email_longer_than_its_column(bearer, length):
    user = UserFactory(email="short@example.com")
    client, _pair = _signed_in(bearer, user)

    response = client.patch("/users/me", {"email": _email(length)}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["email"]
    user.refresh_from_db()
    assert user.email == "short@example.com"


def test_me_update_pauses_during_maintenance(bearer):
    user = UserFactory(first_name="Before")
    client, _pair = _signed_in(bearer, user)

    with override_config(MAINTENANCE_MODE=True):
        response = client.patch("/users/me", {"first_name": "After"})

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "maintenance"
    user.refresh_from_db()
    assert user.first_name == "Before"


def test_me_phone_change_needs_a_code(bearer):
    user = UserFactory(phone="+989120000001")
    client, _pair = _signed_in(bearer, user)

    response = client.patch("/users/me", {"phone": "+989120000002"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "code" in response.json()["fields"]
    user.refresh_from_db()
    assert str(user.phone) == "+989120000001"


def test_me_phone_change_with_a_code_sent_to_the_new_phone(bearer, ask_code, sent_code):
    user = UserFactory(phone="+989120000001")
    client, _pair = _signed_in(bearer, user)
    ask_code("+989120000002", "change_phone")

    response = client.patch(
        "/users/me", {"phone": "09120000002", "code": sent_code("+989120000002")}
    )

    assert response.status_code == HTTPStatus.OK
    user.refresh_from_db()
    assert str(user.phone) == "+989120000002"
    assert user.is_phone_verified


def test_me_phone_change_refuses_a_login_code(bearer, ask_code, sent_code):
    user = UserFactory(phone="+989120000001")
    client, _pair = _signed_in(bearer, user)
    ask_code("+989120000002")

    response = client.patch(
        "/users/me", {"phone": "+989120000002", "code": sent_code("+989120000002")}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "otp_invalid"
    user.refresh_from_db()
    assert str(user.phone) == "+989120000001"


def test_me_phone_change_refuses_a_taken_phone(bearer):
    UserFactory(phone="+989120000002", verified=True)
    user = UserFactory(phone="+989120000001")
    client, _pair = _signed_in(bearer, user)

    response = client.patch("/users/me", {"phone": "+989120000002", "code": "123456"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "phone_taken"


# --- Changing the password ---------------------------------------------------


def test_password_change_ends_every_other_session(bearer, anon):
    user = UserFactory(email="mover@example.com")
    client, old_pair = _signed_in(bearer, user)

    response = client.post(
        "/users/me/password",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert response.status_code == HTTPStatus.OK
    new_pair = response.json()
    assert bearer(new_pair["access"]).get("/users/me").status_code == HTTPStatus.OK
    old_refresh = anon.post("/auth/refresh", {"refresh": old_pair["refresh"]})
    assert old_refresh.status_code == HTTPStatus.UNAUTHORIZED
    old_access = bearer(old_pair["access"]).get("/users/me")
    assert old_access.status_code == HTTPStatus.UNAUTHORIZED
    login = _login(anon, email="mover@example.com", password=NEW_PASSWORD)
    assert login.status_code == HTTPStatus.OK


def test_password_change_needs_the_old_password(bearer):
    user = UserFactory()
    client, _pair = _signed_in(bearer, user)

    response = client.post(
        "/users/me/password",
        {"old_password": "not-the-password", "new_password": NEW_PASSWORD},
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "wrong_password"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_checks_the_new_password(bearer):
    user = UserFactory()
    client, _pair = _signed_in(bearer, user)

    response = client.post(
        "/users/me/password", {"old_password": PASSWORD, "new_password": "abc"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "new_password" in response.json()["fields"]


def test_password_change_refuses_the_phone_as_the_new_password(bearer):
    user = UserFactory(phone="+989123456789")
    client, _pair = _signed_in(bearer, user)

    response = client.post(
        "/users/me/password",
        {"old_password": PASSWORD, "new_password": "+989123456789"},
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["new_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_successful_password_change_gives_its_slot_back(bearer):
    user = UserFactory()
    client, _pair = _signed_in(bearer, user)
    for _ in range(9):
        client.post(
            "/users/me/password",
            {"old_password": "not-the-password", "new_password": NEW_PASSWORD},
        )
    changed = client.post(
        "/users/me/password", {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    client = bearer(changed.json()["access"])

    tenth = client.post(
        "/users/me/password",
        {"old_password": "not-the-password", "new_password": PASSWORD},
    )
    eleventh = client.post(
        "/users/me/password",
        {"old_password": NEW_PASSWORD, "new_password": PASSWORD},
    )

    assert changed.status_code == HTTPStatus.OK
    assert tenth.json()["code"] == "wrong_password"
    assert eleventh.status_code == HTTPStatus.TOO_MANY_REQUESTS
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_change_pauses_during_maintenance(bearer):
    user = UserFactory()
    client, _pair = _signed_in(bearer, user)

    with override_config(MAINTENANCE_MODE=True):
        response = client.post(
            "/users/me/password",
            {"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        )

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
