from django.urls import path

from mithrapay.tests import views
from mithrapay.urls import urlpatterns as project_urlpatterns

handler400 = "mithrapay.errors.bad_request"
handler403 = "mithrapay.errors.permission_denied"
handler404 = "mithrapay.errors.page_not_found"
handler500 = "mithrapay.errors.server_error"

urlpatterns = [
    path("test/echo", views.EchoView.as_view()),
    path("test/private", views.PrivateView.as_view()),
    path("test/forbidden", views.ForbiddenView.as_view()),
    path("test/conflict", views.ConflictView.as_view()),
    path("test/limited", views.LimitedView.as_view()),
    path("test/broken", views.BrokenView.as_view()),
    path("test/plain-broken", views.PlainBrokenView.as_view()),
    path("test/plain", views.PlainView.as_view()),
    path("test/broker-down", views.BrokerDownView.as_view()),
    *project_urlpatterns,
]
