from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MithrapayConfig(AppConfig):
    name = "mithrapay"
    verbose_name = _("MithraPay")
