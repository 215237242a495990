from http import HTTPStatus

import pytest

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_is_headed_for_the_back_office(admin_client):
    response = admin_client.get("/admin/")

    assert response.status_code == HTTPStatus.OK
    assert "MithraPay back office" in response.content.decode()


def test_user_search_finds_by_email_and_phone(admin_client):
    UserFactory(email="findme@example.com", phone="+989351234567")
    UserFactory(email="other@example.com", phone="+989121234567")

    by_email = admin_client.get("/admin/accounts/user/", {"q": "findme"})
    by_phone = admin_client.get("/admin/accounts/user/", {"q": "9351234567"})

    assert "findme@example.com" in by_email.content.decode()
    assert "other@example.com" not in by_email.content.decode()
    assert "findme@example.com" in by_phone.content.decode()


def test_user_page_never_shows_the_password_hash(admin_client):
    customer = UserFactory()

    response = admin_client.get(f"/admin/accounts/user/{customer.pk}/change/")

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    _algorithm, _, rest = customer.password.partition("$")
    assert rest not in page
    assert rest[-6:] not in page


def test_admin_static_files_are_served(client, settings):
    response = client.get("/static/admin/css/base.css")

    assert response.status_code == HTTPStatus.OK


def test_user_list_shows_each_users_roles(admin_client):
    from django.contrib.auth.models import Group

    support = Group.objects.create(name="Support")
    UserFactory(email="helper@example.com").groups.add(support)

    response = admin_client.get("/admin/accounts/user/")

    assert response.status_code == HTTPStatus.OK
    assert "Support" in response.content.decode()


def test_user_list_filters_by_group_and_verification(admin_client):
    from django.contrib.auth.models import Group

    customers = Group.objects.create(name="Customer")
    UserFactory(email="in-group@example.com").groups.add(customers)
    UserFactory(email="verified@example.com", is_phone_verified=True)

    by_group = admin_client.get(
        "/admin/accounts/user/", {"groups__id__exact": customers.pk}
    )
    by_verification = admin_client.get(
        "/admin/accounts/user/", {"is_phone_verified__exact": "1"}
    )

    assert "in-group@example.com" in by_group.content.decode()
    assert "verified@example.com" not in by_group.content.decode()
    assert "verified@example.com" in by_verification.content.decode()
    assert "in-group@example.com" not in by_verification.content.decode()
