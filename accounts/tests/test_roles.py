import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts import roles

pytestmark = pytest.mark.django_db


def test_setup_roles_creates_every_group_and_is_idempotent():
    call_command("setup_roles", verbosity=0)
    call_command("setup_roles", verbosity=0)

    assert sorted(Group.objects.values_list("name", flat=True)) == sorted(roles.ROLES)


def test_setup_roles_sets_exactly_the_declared_permissions(monkeypatch):
    from django.apps import apps

    config = apps.get_app_config("accounts")
    monkeypatch.setattr(
        config,
        "ROLE_PERMISSIONS",
        {roles.SUPPORT: ["accounts.view_user"]},
        raising=False,
    )
    support, _ = Group.objects.get_or_create(name=roles.SUPPORT)
    stray = roles._permission("accounts.delete_user")
    support.permissions.add(stray)

    roles.setup_roles()

    names = {
        p.codename for p in Group.objects.get(name=roles.SUPPORT).permissions.all()
    }
    assert "view_user" in names
    assert "delete_user" not in names
