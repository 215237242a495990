from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")
    # Support looks customers up; no role edits users (superusers do).
    ROLE_PERMISSIONS: dict[str, list[str]] = {
        "Support": ["accounts.view_user"],
    }
