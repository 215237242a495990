"""The code vault: gift-card codes encrypted at rest, fingerprinted for uniqueness.

Codes are encrypted with MultiFernet under ``CODE_ENCRYPTION_KEYS`` (newest
first: new tokens use the first key, any listed key decrypts). The unique
``digest`` column holds an HMAC-SHA256 of the normalised code under
``CODE_DIGEST_KEY``, so the database refuses a code that is already in the
pool without ever holding it in plaintext.

Only ``catalog`` code calls :func:`decrypt`; nothing here logs a value.
"""

import hashlib
import hmac
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class VaultError(Exception):
    """A value could not be decrypted: a wrong key or a damaged token."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("CODE_ENCRYPTION_KEYS is empty")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "CODE_ENCRYPTION_KEYS holds a value that is not a Fernet key"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.CODE_ENCRYPTION_KEYS))


def normalize(code: str) -> str:
    """The form a code is compared in: NFKC, no surrounding or inner blanks,
    upper-case. ``"abcd-1234 "`` and ``"ABCD-1234"`` are the same code."""
    text = unicodedata.normalize("NFKC", code)
    return "".join(text.split()).upper()


def digest(code: str) -> str:
    key = settings.CODE_DIGEST_KEY.encode()
    if not key:
        raise ImproperlyConfigured("CODE_DIGEST_KEY is empty")
    return hmac.new(key, normalize(code).encode(), hashlib.sha256).hexdigest()


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of ``token``; raises :class:`VaultError`, never returns
    the token itself or an empty string in its place."""
    if not token:
        raise VaultError("no encrypted value")
    try:
        return fernet().decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeDecodeError):
        raise VaultError(
            "the value cannot be decrypted with the configured keys"
        ) from None


def is_current(token: str) -> bool:
    """Whether ``token`` is already encrypted under the newest key."""
    try:
        Fernet(settings.CODE_ENCRYPTION_KEYS[0].encode()).decrypt(token.encode())
    except (InvalidToken, IndexError, ValueError):
        return False
    return True


def rotate(token: str) -> str:
    """``token`` re-encrypted under the newest key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise VaultError(
            "the value cannot be decrypted with the configured keys"
        ) from None
