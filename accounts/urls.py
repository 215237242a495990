from django.urls import re_path

from accounts import views

urlpatterns = [
    re_path(r"^auth/register/?$", views.RegisterView.as_view(), name="auth-register"),
    re_path(r"^auth/login/?$", views.LoginView.as_view(), name="auth-login"),
    re_path(
        r"^auth/request-otp/?$", views.OtpRequestView.as_view(), name="auth-request-otp"
    ),
    re_path(
        r"^auth/verify-otp/?$", views.OtpVerifyView.as_view(), name="auth-verify-otp"
    ),
    re_path(r"^auth/refresh/?$", views.RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^auth/logout/?$", views.LogoutView.as_view(), name="auth-logout"),
    re_path(
        r"^auth/reset-password/?$",
        views.PasswordResetView.as_view(),
        name="auth-reset-password",
    ),
    re_path(r"^users/me/?$", views.MeView.as_view(), name="users-me"),
    re_path(
        r"^users/me/password/?$",
        views.PasswordChangeView.as_view(),
        name="users-me-password",
    ),
]
