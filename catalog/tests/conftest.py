import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts import roles
from accounts.tests.factories import UserFactory


@pytest.fixture
def roles_ready(db):
    call_command("setup_roles", verbosity=0)


@pytest.fixture
def catalog_manager(roles_ready):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=roles.CATALOG_MANAGER))
    return user


@pytest.fixture
def support_user(roles_ready):
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=roles.SUPPORT))
    return user


@pytest.fixture
def manager_client(catalog_manager):
    client = APIClient()
    client.force_authenticate(user=catalog_manager)
    return client
