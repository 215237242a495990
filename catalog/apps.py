from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

_MODELS = ("category", "product", "variant", "codebatch")


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = _("Catalog")
    # Staff role name → permission codenames ("app_label.codename") this app
    # grants it; collected by ``manage.py setup_roles``. Only Finance holds
    # ``catalog.reveal_code``, and every reveal is audited and rate-limited.
    ROLE_PERMISSIONS: dict[str, list[str]] = {
        # Edits the catalog and imports codes; voids codes (changing a code
        # is only ever voiding it: the admin edits nothing else).
        "Catalog manager": [
            *(
                f"catalog.{verb}_{model}"
                for model in _MODELS
                for verb in ("add", "change", "view")
            ),
            "catalog.view_digitalcode",
            "catalog.change_digitalcode",
        ],
        # Looks things up for customers: what a product is, which batch a
        # code came in; codes stay masked.
        "Support": [
            *(f"catalog.view_{model}" for model in _MODELS),
            "catalog.view_digitalcode",
        ],
        # Finds a code a customer disputes and reveals it, with a reason on
        # record; edits nothing in the catalog.
        "Finance": [
            "catalog.view_digitalcode",
            "catalog.reveal_code",
            "catalog.view_codereveal",
        ],
    }

    def ready(self):
        from catalog import signals

        signals.connect()
