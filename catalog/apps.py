from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")
    # Staff role name → permission codenames ("app_label.codename") this app
    # grants it; collected by ``manage.py setup_roles``.
    ROLE_PERMISSIONS: dict[str, list[str]] = {}
