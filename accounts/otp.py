"""One-time codes: six digits, kept in the cache only as a keyed hash.

A code is bound to a phone and a purpose, lives ``OTP_EXPIRE_SECONDS``, is
accepted once, and survives ``OTP_MAX_ATTEMPTS - 1`` wrong tries: the last
wrong try deletes it and locks that phone and purpose until a new code is
issued.

Verification reads, compares and changes the stored code in one atomic
step, so two requests carrying the right code at the same moment cannot both
succeed. On Redis that step is a Lua script (Redis runs each script alone);
the in-process cache of the embedded default guards it with a lock, which is
enough because that cache lives in one process only.
"""

import enum
import secrets
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac

from mithrapay.health import cache_backend

LOGIN = "login"
RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose name, not a secret)
CHANGE_PHONE = "change_phone"
PURPOSES = (LOGIN, RESET_PASSWORD, CHANGE_PHONE)

CODE_DIGITS = 6


def lock_seconds() -> int:
    """A locked phone and purpose stay locked until a new code is issued,
    or ``OTP_LOCK_SECONDS`` at most."""
    return settings.OTP_LOCK_SECONDS


class Outcome(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"  # wrong, expired or never issued
    LOCKED = "locked"  # too many wrong tries; a new code is needed


def generate_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def digest(*, phone: str, purpose: str, code: str) -> str:
    """The keyed hash stored in place of the code (keyed by SECRET_KEY)."""
    value = f"{purpose}:{phone}:{code}"
    return salted_hmac("accounts.otp", value, algorithm="sha256").hexdigest()


def _keys(phone: str, purpose: str) -> tuple[str, str]:
    return f"otp:code:{purpose}:{phone}", f"otp:locked:{purpose}:{phone}"


# KEYS: the code's hash, the lock flag. ARGV: the given digest, the tries a
# code allows, the lock's lifetime. The digests are compared byte by byte
# over their whole length, so the time taken says nothing about how close a
# guess came.
_VERIFY_SCRIPT = """
local stored = redis.call('HGET', KEYS[1], 'digest')
if not stored then
  if redis.call('EXISTS', KEYS[2]) == 1 then return 'locked' end
  return 'invalid'
end
local given = ARGV[1]
local diff = 0
if #stored ~= #given then diff = 1 end
for i = 1, #stored do
  diff = bit.bor(diff, bit.bxor(string.byte(stored, i), string.byte(given, i) or 0))
end
if diff == 0 then
  redis.call('DEL', KEYS[1])
  return 'valid'
end
local tries = redis.call('HINCRBY', KEYS[1], 'tries', 1)
if tries >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[3]))
end
return 'invalid'
"""


class RedisStore:
    """Codes as Redis hashes, verified by one Lua script."""

    def __init__(self):
        from django_redis import get_redis_connection

        self.client = get_redis_connection("default")
        self.verify_script = self.client.register_script(_VERIFY_SCRIPT)

    def _keys(self, phone, purpose):
        return [cache.make_key(key) for key in _keys(phone, purpose)]

    def save(self, *, phone: str, purpose: str, code_digest: str, ttl: int) -> None:
        code_key, lock_key = self._keys(phone, purpose)
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(code_key, lock_key)
        pipe.hset(code_key, mapping={"digest": code_digest, "tries": 0})
        pipe.expire(code_key, ttl)
        pipe.execute()

    def verify(self, *, phone: str, purpose: str, code_digest: str) -> Outcome:
        result = self.verify_script(
            keys=self._keys(phone, purpose),
            args=[code_digest, settings.OTP_MAX_ATTEMPTS, lock_seconds()],
        )
        return Outcome(result.decode() if isinstance(result, bytes) else result)


_local_lock = threading.Lock()


class LocalStore:
    """Codes in Django's in-process cache, each step under one lock."""

    def save(self, *, phone: str, purpose: str, code_digest: str, ttl: int) -> None:
        code_key, lock_key = _keys(phone, purpose)
        entry = {"digest": code_digest, "tries": 0, "expires": time.time() + ttl}
        with _local_lock:
            cache.delete(lock_key)
            cache.set(code_key, entry, timeout=ttl)

    def verify(self, *, phone: str, purpose: str, code_digest: str) -> Outcome:
        code_key, lock_key = _keys(phone, purpose)
        with _local_lock:
            entry = cache.get(code_key)
            remaining = entry["expires"] - time.time() if entry else 0
            if entry is None or remaining <= 0:
                return Outcome.LOCKED if cache.get(lock_key) else Outcome.INVALID
            if constant_time_compare(entry["digest"], code_digest):
                cache.delete(code_key)
                return Outcome.VALID
            entry["tries"] += 1
            if entry["tries"] >= settings.OTP_MAX_ATTEMPTS:
                cache.delete(code_key)
                cache.set(lock_key, 1, timeout=lock_seconds())
            else:
                cache.set(code_key, entry, timeout=max(1, int(remaining)))
            return Outcome.INVALID


def get_store():
    return RedisStore() if cache_backend() == "redis" else LocalStore()


def issue(*, phone: str, purpose: str) -> str:
    """Make a new code for ``phone`` and ``purpose``, replacing any earlier
    one and lifting a lock; returns the code (to be sent, never stored)."""
    code = generate_code()
    get_store().save(
        phone=phone,
        purpose=purpose,
        code_digest=digest(phone=phone, purpose=purpose, code=code),
        ttl=settings.OTP_EXPIRE_SECONDS,
    )
    return code


def verify(*, phone: str, purpose: str, code: str) -> Outcome:
    """Check ``code`` once: a right code is used up, a wrong one counted."""
    return get_store().verify(
        phone=phone,
        purpose=purpose,
        code_digest=digest(phone=phone, purpose=purpose, code=code),
    )
