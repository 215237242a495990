from accounts.models import User


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email=email).first()


def user_by_phone(*, phone: str) -> User | None:
    return User.objects.filter(phone=phone).first()


def user_for_password_login(*, email: str | None, phone: str | None) -> User | None:
    """The account a password login names, whatever its state."""
    if email:
        return user_by_email(email=email)
    return user_by_phone(phone=phone)


def phone_is_taken(*, phone: str, exclude_user: User | None = None) -> bool:
    users = User.objects.filter(phone=phone)
    if exclude_user is not None:
        users = users.exclude(pk=exclude_user.pk)
    return users.exists()


def email_is_taken(*, email: str, exclude_user: User | None = None) -> bool:
    users = User.objects.filter(email=email)
    if exclude_user is not None:
        users = users.exclude(pk=exclude_user.pk)
    return users.exists()


def active_user_by_phone(*, phone: str) -> User | None:
    return User.objects.filter(phone=phone, is_active=True).first()
