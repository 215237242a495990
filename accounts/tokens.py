"""JWT sessions: issuing pairs, rotating refresh tokens, revoking them.

A refresh token is good for one rotation. Its ``jti`` is claimed by
inserting its blacklist row, a unique insert: of two requests rotating the
same token at the same moment, the database lets exactly one insert through.
(simplejwt's own refresh view checks the blacklist, then writes it, so both
of those requests would get new tokens.) A claim that loses a row lock on
MariaDB twice answers 409 ``lock_conflict`` (deadlock) or 503
``lock_timeout`` (lock wait), never a 500.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import (
    BlacklistedToken,
    OutstandingToken,
)
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch, get_md5_hash_password

from accounts.models import User
from mithrapay.errors import ApplicationError
from mithrapay.transactions import retry_on_lock_conflict

logger = logging.getLogger(__name__)


class TokenInvalid(ApplicationError):
    status = 401
    code = "token_not_valid"
    default_message = _("The token is invalid, expired or already used.")


def issue_pair(user: User) -> dict[str, str]:
    """A new refresh token (recorded as outstanding) and its access token."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError:
        raise TokenInvalid() from None


def _owner(token: RefreshToken) -> User:
    """The token's active user, whose password has not changed since."""
    user = User.objects.filter(
        pk=token.get(api_settings.USER_ID_CLAIM), is_active=True
    ).first()
    if user is None:
        raise TokenInvalid()
    if token.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(
        user.password
    ):
        raise TokenInvalid()
    return user


def _claim(token: RefreshToken, user: User | None) -> None:
    """Blacklist ``token``; raise :class:`TokenInvalid` if it already was."""
    jti = token[api_settings.JTI_CLAIM]
    outstanding, _created = OutstandingToken.objects.get_or_create(
        jti=jti,
        defaults={
            "user": user,
            "token": str(token),
            "created_at": token.current_time,
            "expires_at": datetime_from_epoch(token["exp"]),
        },
    )
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        raise TokenInvalid() from None


def rotate(*, refresh: str) -> dict[str, str]:
    """Use up ``refresh`` and answer a new pair; a second use gets 401."""
    token = _decode_refresh(refresh)
    user = _owner(token)

    @retry_on_lock_conflict
    @transaction.atomic
    def claim_and_issue():
        _claim(token, user)
        return issue_pair(user)

    pair = claim_and_issue()
    logger.info("refresh token rotated", extra={"user_id": user.pk})
    return pair


def revoke(*, refresh: str) -> None:
    """Blacklist ``refresh`` (logout); an already used token gets 401."""
    token = _decode_refresh(refresh)
    user = User.objects.filter(pk=token.get(api_settings.USER_ID_CLAIM)).first()

    @retry_on_lock_conflict
    @transaction.atomic
    def claim():
        _claim(token, user)

    claim()
    logger.info("refresh token revoked", extra={"user_id": getattr(user, "pk", None)})


def revoke_all_for(user: User) -> int:
    """Blacklist every outstanding refresh token of ``user``."""
    open_ids = OutstandingToken.objects.filter(
        user=user, blacklistedtoken__isnull=True
    ).values_list("id", flat=True)
    rows = [BlacklistedToken(token_id=token_id) for token_id in open_ids]
    BlacklistedToken.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
