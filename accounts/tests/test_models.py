import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from accounts.models import User

pytestmark = pytest.mark.django_db


def test_create_user_with_email_lowercases_it_and_leaves_phone_null():
    user = User.objects.create_user("Ada@Example.COM", "correct-horse-battery")

    user.refresh_from_db()
    assert user.email == "ada@example.com"
    assert user.phone is None
    assert user.check_password("correct-horse-battery")
    assert not user.is_staff
    assert not user.is_phone_verified


def test_create_user_with_phone_stores_e164_and_null_email():
    user = User.objects.create_user(
        phone="0912 345 6789", password="correct-horse-battery"
    )

    user.refresh_from_db()
    assert str(user.phone) == "+989123456789"
    assert user.email is None


def test_create_user_needs_email_or_phone():
    with pytest.raises(ValueError, match="email or a phone"):
        User.objects.create_user(email="", password="correct-horse-battery")


def test_create_user_refuses_an_invalid_phone():
    with pytest.raises(ValidationError):
        User.objects.create_user(phone="12345", password="correct-horse-battery")


def test_several_users_without_email_or_without_phone_coexist():
    User.objects.create_user(phone="+989120000001", password="x-long-password")
    User.objects.create_user(phone="+989120000002", password="x-long-password")
    User.objects.create_user(email="a@example.com", password="x-long-password")
    User.objects.create_user(email="b@example.com", password="x-long-password")

    assert User.objects.filter(email__isnull=True).count() == 2
    assert User.objects.filter(phone__isnull=True).count() == 2


def test_email_differing_only_in_case_is_a_duplicate():
    User.objects.create_user("shopper@example.com", "x-long-password")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("SHOPPER@example.com", "x-long-password")


def test_same_phone_in_two_spellings_is_a_duplicate():
    User.objects.create_user(phone="+98 912 345 6789", password="x-long-password")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(phone="09123456789", password="x-long-password")


def test_database_refuses_a_user_with_neither_email_nor_phone():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email=None, phone=None)])


def test_empty_strings_are_stored_as_null():
    user = User.objects.create_user("x@example.com", "x-long-password")
    user.phone = ""
    user.save()

    user.refresh_from_db()
    assert user.phone is None


def test_create_superuser_is_staff_and_superuser():
    admin = User.objects.create_superuser("boss@example.com", "x-long-password")

    assert admin.is_staff
    assert admin.is_superuser


def test_create_superuser_refuses_is_staff_false():
    with pytest.raises(ValueError, match="is_staff"):
        User.objects.create_superuser("b@example.com", "pw-long-enough", is_staff=False)


def test_createsuperuser_command_works(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-admin-password")

    call_command(
        "createsuperuser", "--noinput", "--email", "Root@Example.com", verbosity=0
    )

    admin = User.objects.get(email="root@example.com")
    assert admin.is_superuser
    assert admin.check_password("a-long-admin-password")


def test_str_is_email_or_phone():
    by_email = User.objects.create_user("e@example.com", "x-long-password")
    by_phone = User.objects.create_user(phone="+989121111111", password="x-long-pass")

    assert str(by_email) == "e@example.com"
    assert str(by_phone) == "+989121111111"
