from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from accounts.phones import normalize_phone


def normalize_email(value) -> str | None:
    """Emails are stored lower-cased, and an empty one as NULL.

    MariaDB's ``utf8mb4_unicode_ci`` compares case-insensitively anyway; a
    lower-cased column makes a case-only duplicate a clean uniqueness error
    everywhere, SQLite included.
    """
    value = (value or "").strip()
    return value.lower() or None


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, phone, password, **extra_fields):
        email = normalize_email(email)
        phone = normalize_phone(phone) if phone else None
        if not email and not phone:
            raise ValueError("A user needs an email or a phone number.")
        user = self.model(email=email, phone=phone, **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"], validate_unique=False)
        user.save(using=self._db)
        return user

    def create_user(self, email=None, password=None, *, phone=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, phone, password, **extra_fields)

    def create_superuser(self, email=None, password=None, *, phone=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        if extra["is_staff"] is not True or extra["is_superuser"] is not True:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a member of staff, known by email, phone or both."""

    # NULL, never "", when unset: "unique when set" needs it on MariaDB.
    email = models.EmailField(
        _("email"), max_length=254, unique=True, null=True, blank=True
    )
    phone = PhoneNumberField(_("phone"), unique=True, null=True, blank=True)
    is_phone_verified = models.BooleanField(_("phone verified"), default=False)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("staff status"),
        default=False,
        help_text=_("Whether the user can log into the back office."),
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=Q(email__isnull=False) | Q(phone__isnull=False),
                name="user_has_email_or_phone",
            ),
        ]

    def __str__(self):
        return self.email or str(self.phone)

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)
        if self.phone:
            try:
                self.phone = normalize_phone(str(self.phone))
            except ValidationError as exc:
                raise ValidationError({"phone": exc.messages}) from None
        else:
            self.phone = None
        if not self.email and not self.phone:
            raise ValidationError(_("Give an email address or a phone number."))

    def save(self, *args, **kwargs):
        self.email = normalize_email(self.email)
        if not self.phone:
            self.phone = None
        super().save(*args, **kwargs)

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name
