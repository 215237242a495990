"""Staff roles: Django groups whose permissions each app declares.

Every app config may carry ``ROLE_PERMISSIONS = {role: ["app_label.codename",
…]}``. The roles are collected through the app registry, so no app imports
another to grant its permissions.
"""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

CUSTOMER = "Customer"
SUPPORT = "Support"
CATALOG_MANAGER = "Catalog manager"
CONTENT_EDITOR = "Content editor"
FINANCE = "Finance"

ROLES = (CUSTOMER, SUPPORT, CATALOG_MANAGER, CONTENT_EDITOR, FINANCE)

ROLE_DESCRIPTIONS = {
    CUSTOMER: _("Buys from the shop; no back-office access."),
    SUPPORT: _("Answers customers: orders, notes, manual fulfilment."),
    CATALOG_MANAGER: _("Edits the catalog and imports codes."),
    CONTENT_EDITOR: _("Writes the blog."),
    FINANCE: _("Refunds and payments; reveals codes, audited."),
}


class UnknownPermission(LookupError):
    pass


def declared_role_permissions() -> dict[str, set[str]]:
    """Role name → permission names ("app_label.codename") from every app."""
    declared: dict[str, set[str]] = {role: set() for role in ROLES}
    for config in apps.get_app_configs():
        for role, names in getattr(config, "ROLE_PERMISSIONS", {}).items():
            if role not in declared:
                raise UnknownPermission(
                    f"{config.label} declares an unknown role {role!r}"
                )
            declared[role].update(names)
    return declared


def _permission(name: str) -> Permission:
    app_label, _, codename = name.partition(".")
    try:
        return Permission.objects.get(
            content_type__app_label=app_label, codename=codename
        )
    except Permission.DoesNotExist:
        raise UnknownPermission(f"no permission {name!r}; run migrate first") from None


@transaction.atomic
def setup_roles() -> dict[str, int]:
    """Create every role's group and set exactly its declared permissions.

    Safe to run any number of times; returns role → number of permissions.
    """
    summary = {}
    for role, names in declared_role_permissions().items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = [_permission(name) for name in sorted(names)]
        group.permissions.set(permissions)
        summary[role] = len(permissions)
    return summary
