from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BlogConfig(AppConfig):
    name = "blog"
    verbose_name = _("Blog")
    # Content editors write the blog and nothing else: no users, orders,
    # catalog or site settings.
    ROLE_PERMISSIONS: dict[str, list[str]] = {
        "Content editor": [
            f"blog.{action}_{model}"
            for model in ("post", "tag")
            for action in ("add", "change", "delete", "view")
        ],
    }
