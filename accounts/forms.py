from django import forms
from django.contrib.auth.forms import AdminUserCreationForm

from accounts.models import User


class UserAddForm(AdminUserCreationForm):
    """The admin's "add user" form: email and/or phone, then a password."""

    class Meta:
        model = User
        fields = ("email", "phone")
        field_classes = {}


class UserChangeForm(forms.ModelForm):
    """The admin's user form. The password (even its hash) is not a field:
    staff change it through the separate password form."""

    class Meta:
        model = User
        fields = (
            "email",
            "phone",
            "is_phone_verified",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
            "last_login",
            "date_joined",
        )
