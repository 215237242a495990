"""Who a request's access token names, read on every authenticated request."""

from functools import lru_cache

from django.db import router
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from mithrapay.statements import ID_SENTINEL, Statement, from_row, stored_columns


@lru_cache(maxsize=4)
def _user_statement(using: str) -> Statement:
    users = User.objects.filter(**{api_settings.USER_ID_FIELD: ID_SENTINEL})
    return Statement.of(users.values(*stored_columns(User)), using)


def _user_by_id(user_id: int) -> User | None:
    using = router.db_for_read(User)
    rows = _user_statement(using).rows(using, swap={ID_SENTINEL: user_id})
    if not rows:
        return None
    return from_row(User, rows[0], using)


class AccessTokenAuthentication(JWTAuthentication):
    """simplejwt's bearer-token authentication, with the token's user read
    through a statement compiled once per process (``mithrapay.statements``)
    instead of a query built on every request. The checks, their order and
    their errors are simplejwt's: the user exists, is active, and has not
    changed their password since the token was issued."""

    def get_user(self, validated_token) -> User:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError:
            raise InvalidToken(
                _("Token contained no recognizable user identification")
            ) from None
        try:
            user = _user_by_id(int(user_id))
        except (TypeError, ValueError, OverflowError):
            user = None
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(
                _("The user's password has been changed."), code="password_changed"
            )
        return user


class AccessTokenScheme(SimpleJWTScheme):
    """The schema's bearer-token scheme, as drf-spectacular describes
    simplejwt's own class."""

    target_class = AccessTokenAuthentication
