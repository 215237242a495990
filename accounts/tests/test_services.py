import pytest
from django.contrib.auth.models import Group

from accounts import otp, roles, services, sms
from accounts.models import User
from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+989121234567"


def test_user_register_joins_the_customer_group_created_on_demand():
    assert not Group.objects.filter(name=roles.CUSTOMER).exists()

    user = services.user_register(email="first@example.com", password=PASSWORD)

    assert user.groups.get().name == roles.CUSTOMER


def test_user_register_leaves_the_phone_unverified():
    user = services.user_register(phone=PHONE, password=PASSWORD)

    assert not user.is_phone_verified


def test_otp_request_stores_a_code_for_unknown_phones_without_texting(
    django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(otp, "generate_code", lambda: "246810")

    with django_capture_on_commit_callbacks(execute=True):
        services.otp_request(phone=PHONE, purpose=otp.RESET_PASSWORD, ip="10.0.0.1")

    assert sms.outbox == []
    assert otp.verify(phone=PHONE, purpose=otp.RESET_PASSWORD, code="246810") is (
        otp.Outcome.VALID
    )


def test_change_phone_code_is_not_texted_to_a_taken_phone(
    django_capture_on_commit_callbacks,
):
    UserFactory(phone=PHONE)

    with django_capture_on_commit_callbacks(execute=True):
        services.otp_request(phone=PHONE, purpose=otp.CHANGE_PHONE, ip="10.0.0.1")

    assert sms.outbox == []


def test_phone_login_after_registration_keeps_one_account(monkeypatch):
    registered = services.user_register(
        email="owner@example.com", phone=PHONE, password=PASSWORD
    )
    monkeypatch.setattr(otp, "generate_code", lambda: "135790")
    services.otp_request(phone=PHONE, purpose=otp.LOGIN, ip="10.0.0.1")

    user, created, _pair = services.otp_login(phone=PHONE, code="135790")

    assert user.pk == registered.pk
    assert not created
    assert User.objects.count() == 1


def test_user_update_keeps_an_email_or_a_phone():
    user = UserFactory(email="only@example.com", phone=None)

    with pytest.raises(services.ApplicationError) as raised:
        services.user_update(user=user, email="")

    assert raised.value.code == "validation_error"
    user.refresh_from_db()
    assert user.email == "only@example.com"


def test_user_update_can_clear_the_email_of_a_phone_account():
    user = UserFactory(email="drop@example.com", phone=PHONE)

    services.user_update(user=user, email=None)

    user.refresh_from_db()
    assert user.email is None
