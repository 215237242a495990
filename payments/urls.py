from django.urls import re_path

from payments.views import CallbackView, PayView, ResultPageView, SandboxPageView

urlpatterns = [
    re_path(r"^orders/(?P<ref>[^/]+)/pay/?$", PayView.as_view(), name="order-pay"),
    re_path(
        r"^payments/callback/(?P<gateway>[a-z0-9_-]{1,32})/?$",
        CallbackView.as_view(),
        name="payment-callback",
    ),
    re_path(
        r"^payments/sandbox/(?P<authority>[A-Za-z0-9]{1,64})/?$",
        SandboxPageView.as_view(),
        name="payment-sandbox",
    ),
    re_path(r"^payments/result/?$", ResultPageView.as_view(), name="payment-result"),
]
