from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from mithrapay.views import PublicSettingsView, ReadyView, RootView

admin.site.site_header = _("MithraPay back office")
admin.site.site_title = _("MithraPay back office")
admin.site.index_title = _("Shop administration")

handler400 = "mithrapay.errors.bad_request"
handler403 = "mithrapay.errors.permission_denied"
handler404 = "mithrapay.errors.page_not_found"
handler500 = "mithrapay.errors.server_error"

urlpatterns = [
    path("", RootView.as_view(), name="root"),
    re_path(r"^health/ready/?$", ReadyView.as_view(), name="health-ready"),
    re_path(r"^settings/public/?$", PublicSettingsView.as_view(), name="settings"),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(
        r"^api/docs/?$",
        # Its script is a separate file (no inline script); Swagger UI's own
        # page keeps a few inline styles.
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="schema")
        ),
        name="api-docs",
    ),
    path("", include("accounts.urls")),
    path("", include("catalog.urls")),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
    path("", include("blog.urls")),
    # The admin lives under /admin/; APPEND_SLASH is off for the API's sake.
    path("admin", RedirectView.as_view(url="/admin/", permanent=True)),
    path("admin/", admin.site.urls),
]
