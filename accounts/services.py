"""Account writes: registration, sign-in, one-time codes, profile changes."""

import logging
import math
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts import otp, roles, selectors, tokens
from accounts.models import User, normalize_email
from accounts.tasks import dispatch_sms
from mithrapay import throttling
from mithrapay.errors import ApplicationError
from mithrapay.throttling import RateLimited

logger = logging.getLogger(__name__)


class EmailTaken(ApplicationError):
    code = "email_taken"
    default_message = _("An account with this email already exists.")


class PhoneTaken(ApplicationError):
    code = "phone_taken"
    default_message = _("An account with this phone number already exists.")


class InvalidCredentials(ApplicationError):
    status = 401
    code = "invalid_credentials"
    default_message = _("The login details are not correct.")


class OtpInvalid(ApplicationError):
    code = "otp_invalid"
    default_message = _("The code is wrong or has expired.")


class OtpLocked(RateLimited):
    code = "otp_locked"
    default_message = _("Too many wrong codes. Ask for a new code.")


class AccountInactive(ApplicationError):
    status = 403
    code = "account_inactive"
    default_message = _("This account is disabled. Contact support.")


class WrongPassword(ApplicationError):
    code = "wrong_password"
    default_message = _("The current password is not correct.")


def _field_error(field: str, messages) -> ApplicationError:
    return ApplicationError(
        _("Some fields are not valid."),
        code="validation_error",
        fields={field: list(messages)},
    )


def _check_password_rules(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise _field_error(field, exc.messages) from None


def _join_customers(user: User) -> None:
    group, _created = Group.objects.get_or_create(name=roles.CUSTOMER)
    user.groups.add(group)


def _raise_taken(*, email: str | None, phone: str | None, exclude: User | None):
    if email and selectors.email_is_taken(email=email, exclude_user=exclude):
        raise EmailTaken(fields={"email": [str(EmailTaken.default_message)]})
    if phone and selectors.phone_is_taken(phone=phone, exclude_user=exclude):
        raise PhoneTaken(fields={"phone": [str(PhoneTaken.default_message)]})


# --- Registration and password login -----------------------------------------


@transaction.atomic
def user_register(
    *,
    password: str,
    email: str | None = None,
    phone: str | None = None,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """A customer signing up with a password; the phone stays unverified
    until a one-time code proves it."""
    user = User(
        email=normalize_email(email),
        phone=phone or None,
        first_name=first_name,
        last_name=last_name,
    )
    _check_password_rules(password, user=user, field="password")
    _raise_taken(email=user.email, phone=user.phone, exclude=None)

    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Registered by a concurrent request between the check and the insert.
        _raise_taken(email=user.email, phone=user.phone, exclude=None)
        raise
    _join_customers(user)

    logger.info("customer registered", extra={"user_id": user.pk})
    return user


def login_with_password(
    *, password: str, ip: str, email: str | None = None, phone: str | None = None
) -> dict[str, str]:
    """A token pair for the right password; one 401 for every wrong case.

    Unknown accounts, wrong passwords, disabled accounts and phones not yet
    verified all answer the same, after the same password hashing work, so
    neither the answer nor its timing tells which accounts exist. Only
    failures count towards the limits.
    """
    user = selectors.user_for_password_login(email=email, phone=phone)
    account = f"user:{user.pk}" if user else f"login:{email or phone}"
    # Counted before the password is checked, so attempts sent
    # together cannot all pass a limit that only the last of them reaches.
    counted = throttling.consume_all(
        ("login_failures_ip", ip), ("login_failures_account", account)
    )

    if user is None:
        make_password(password)  # the hashing a real check would cost
        accepted = False
    else:
        accepted = user.check_password(password)
        accepted = accepted and user.is_active
        accepted = accepted and (email is not None or user.is_phone_verified)

    if not accepted:
        raise InvalidCredentials()  # a failure keeps its count
    throttling.give_back(*counted)
    logger.info("password login", extra={"user_id": user.pk})
    return tokens.issue_pair(user)


# --- One-time codes ----------------------------------------------------------


def _cooldown_key(phone: str) -> str:
    return f"otp:cooldown:{phone}"


def _reserve_sending(*, phone: str, ip: str) -> None:
    """Apply the hourly caps and the resend cooldown, or raise 429.

    A refused request leaves no mark: it neither starts the phone's cooldown
    nor counts towards a cap, so a client over its own limit cannot keep
    someone else's phone from getting a code.
    """
    throttling.ensure_below("otp_ip", ip)
    throttling.ensure_below("otp_phone", phone)
    cooldown_key = _cooldown_key(phone)
    until = time.time() + settings.OTP_RESEND_SECONDS
    # add() is atomic (SET NX with expiry on Redis): one request per
    # cooldown gets in.
    if not cache.add(cooldown_key, until, timeout=settings.OTP_RESEND_SECONDS):
        previous = cache.get(cooldown_key) or until
        raise RateLimited(retry_after=math.ceil(previous - time.time()))
    # Requests racing past the checks above still stop at the caps here,
    # where each is counted with one atomic increment.
    try:
        throttling.consume_all(("otp_ip", ip), ("otp_phone", phone))
    except RateLimited:
        cache.delete(cooldown_key)  # set by this request just above
        raise


def _resend_wait(phone: str) -> int:
    """Seconds until ``phone`` may ask for another code."""
    until = cache.get(_cooldown_key(phone))
    return math.ceil(until - time.time()) if until else 0


def _deliverable(*, phone: str, purpose: str) -> bool:
    """Whether a code for ``purpose`` is worth a text to ``phone``."""
    if purpose == otp.RESET_PASSWORD:
        return selectors.active_user_by_phone(phone=phone) is not None
    if purpose == otp.CHANGE_PHONE:
        return not selectors.phone_is_taken(phone=phone)
    return True


@transaction.atomic
def otp_request(*, phone: str, purpose: str, ip: str) -> None:
    """Issue a code and text it after commit.

    Every phone gets a code stored, so verifying behaves the same for known
    and unknown phones; a text goes out only where the code can be used.
    """
    _reserve_sending(phone=phone, ip=ip)

    code = otp.issue(phone=phone, purpose=purpose)

    if _deliverable(phone=phone, purpose=purpose):
        minutes = max(1, settings.OTP_EXPIRE_SECONDS // 60)
        body = str(
            _("MithraPay code: %(code)s\nValid for %(minutes)s min. Never share it.")
            % {"code": code, "minutes": minutes}
        )
        transaction.on_commit(lambda: _send_code(phone=phone, body=body, code=code))
    logger.info("one-time code issued", extra={"purpose": purpose})


def _send_code(*, phone: str, body: str, code: str) -> None:
    """Queue the text; with the broker unreachable the request still answers
    as usual: the code is stored, and the client may ask again once the
    cooldown ends."""
    try:
        dispatch_sms(to=phone, body=body, code=code)
    except KombuOperationalError:
        logger.warning("sms not queued: broker unreachable")


def _verify_code(*, phone: str, purpose: str, code: str) -> None:
    outcome = otp.verify(phone=phone, purpose=purpose, code=code)
    if outcome is otp.Outcome.LOCKED:
        # A new code lifts the lock, so the wait is the resend cooldown's.
        raise OtpLocked(retry_after=_resend_wait(phone))
    if outcome is not otp.Outcome.VALID:
        raise OtpInvalid(fields={"code": [str(OtpInvalid.default_message)]})


def _prove_phone(user: User) -> None:
    """The holder of the phone has proven it: whoever registered the number
    without proof loses the password they set and every session."""
    user.is_phone_verified = True
    user.set_unusable_password()
    user.save(update_fields=["is_phone_verified", "password"])
    revoked = tokens.revoke_all_for(user)
    logger.info(
        "phone verified; unproven password removed",
        extra={"user_id": user.pk, "revoked_tokens": revoked},
    )


@transaction.atomic
def _phone_account(*, phone: str) -> tuple[User, bool]:
    # The row lock keeps a concurrent password change or registration from
    # slipping between "unverified" and the password being removed.
    user = User.objects.select_for_update().filter(phone=phone).first()
    created = False
    if user is None:
        user = User(phone=phone, is_phone_verified=True)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            # Registered with a password by a concurrent request.
            user = User.objects.select_for_update().get(phone=phone)
        else:
            _join_customers(user)
            created = True
    if not user.is_active:
        raise AccountInactive()
    if not user.is_phone_verified:
        _prove_phone(user)
    return user, created


def otp_login(*, phone: str, code: str) -> tuple[User, bool, dict[str, str]]:
    """Sign in by phone; the first sign-in creates the customer."""
    _verify_code(phone=phone, purpose=otp.LOGIN, code=code)

    user, created = _phone_account(phone=phone)
    pair = tokens.issue_pair(user)

    if created:
        logger.info("customer joined by phone", extra={"user_id": user.pk})
    logger.info("phone login", extra={"user_id": user.pk})
    return user, created, pair


def password_reset(*, phone: str, code: str, new_password: str) -> None:
    """Set a new password with a code texted to the account's phone, and end
    every session of the account."""
    _check_password_rules(new_password, user=User(phone=phone), field="new_password")
    _verify_code(phone=phone, purpose=otp.RESET_PASSWORD, code=code)

    with transaction.atomic():
        user = User.objects.select_for_update().filter(phone=phone).first()
        if user is None or not user.is_active:
            # No code was texted for such a phone, so this is a guess.
            raise OtpInvalid(fields={"code": [str(OtpInvalid.default_message)]})
        _check_password_rules(new_password, user=user, field="new_password")
        user.set_password(new_password)
        user.is_phone_verified = True
        user.save(update_fields=["password", "is_phone_verified"])
        revoked = tokens.revoke_all_for(user)

    logger.info(
        "password reset by phone",
        extra={"user_id": user.pk, "revoked_tokens": revoked},
    )


# --- The signed-in customer --------------------------------------------------

# Marks an optional argument the caller did not give (None clears the email).
UNCHANGED = object()


def user_update(
    *,
    user: User,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | object | None = UNCHANGED,
    phone: str | None = None,
    code: str | None = None,
) -> User:
    """Change names, email or phone. A new phone needs a code of purpose
    ``change_phone`` texted to that new number."""
    changes: dict = {}
    if first_name is not None:
        changes["first_name"] = first_name
    if last_name is not None:
        changes["last_name"] = last_name
    if email is not UNCHANGED:
        changes["email"] = normalize_email(email)
        if changes["email"] is None and user.phone is None and not phone:
            raise _field_error("email", [_("Give an email address or a phone number.")])
    if phone and phone != (str(user.phone) if user.phone else None):
        if not code:
            raise _field_error("code", [_("Enter the code sent to the new phone.")])
        _raise_taken(email=None, phone=phone, exclude=user)
        _verify_code(phone=phone, purpose=otp.CHANGE_PHONE, code=code)
        changes["phone"] = phone
        changes["is_phone_verified"] = True
    _raise_taken(email=changes.get("email"), phone=None, exclude=user)

    if changes:
        _save_changes(user=user, changes=changes)
    return user


@transaction.atomic
def _save_changes(*, user: User, changes: dict) -> None:
    for name, value in changes.items():
        setattr(user, name, value)
    try:
        with transaction.atomic():
            user.save(update_fields=list(changes))
    except IntegrityError:
        _raise_taken(
            email=changes.get("email"), phone=changes.get("phone"), exclude=user
        )
        raise
    logger.info(
        "profile changed", extra={"user_id": user.pk, "fields": sorted(changes)}
    )


def password_change(
    *, user: User, old_password: str, new_password: str
) -> dict[str, str]:
    """Replace the password; every other session ends, and this one gets a
    fresh token pair."""
    # Counted before the password is checked, as for a login.
    counted = throttling.consume_all(("login_failures_account", f"user:{user.pk}"))
    if not user.check_password(old_password):
        raise WrongPassword(
            fields={"old_password": [str(WrongPassword.default_message)]}
        )
    throttling.give_back(*counted)
    _check_password_rules(new_password, user=user, field="new_password")

    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        revoked = tokens.revoke_all_for(user)
        pair = tokens.issue_pair(user)

    logger.info(
        "password changed", extra={"user_id": user.pk, "revoked_tokens": revoked}
    )
    return pair
