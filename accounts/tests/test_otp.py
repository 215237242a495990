import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.cache import cache

from accounts import otp
from mithrapay.health import cache_backend

PHONE = "+989121234567"
BASE_DIR = Path(__file__).resolve().parents[2]


def _stored_values(phone: str, purpose: str) -> str:
    """Everything the cache holds for the phone's code, as text."""
    code_key, _lock_key = otp._keys(phone, purpose)
    if cache_backend() == "redis":
        store = otp.RedisStore()
        raw = store.client.hgetall(cache.make_key(code_key))
        return repr(raw)
    return repr(cache.get(code_key))


def test_issued_code_is_six_digits_from_secrets(monkeypatch):
    calls = []
    real = otp.secrets.randbelow
    monkeypatch.setattr(otp.secrets, "randbelow", lambda n: calls.append(n) or real(n))

    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    assert len(code) == 6
    assert code.isdigit()
    assert calls == [10**6]


def test_code_is_stored_only_as_a_keyed_hash():
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    stored = _stored_values(PHONE, otp.LOGIN)

    assert otp.digest(phone=PHONE, purpose=otp.LOGIN, code=code) in stored
    assert code not in stored


def test_right_code_is_accepted_once():
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    first = otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code)
    second = otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code)

    assert first is otp.Outcome.VALID
    assert second is otp.Outcome.INVALID


def test_code_is_bound_to_its_purpose_and_phone():
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    other_purpose = otp.verify(phone=PHONE, purpose=otp.RESET_PASSWORD, code=code)
    other_phone = otp.verify(phone="+989121234568", purpose=otp.LOGIN, code=code)

    assert other_purpose is otp.Outcome.INVALID
    assert other_phone is otp.Outcome.INVALID
    assert otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code) is otp.Outcome.VALID


def test_fifth_wrong_try_deletes_the_code_and_locks(settings):
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    outcomes = [
        otp.verify(phone=PHONE, purpose=otp.LOGIN, code=wrong) for _ in range(5)
    ]
    with_right_code = otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code)

    assert settings.OTP_MAX_ATTEMPTS == 5
    assert outcomes == [otp.Outcome.INVALID] * 5
    assert with_right_code is otp.Outcome.LOCKED


def test_fourth_wrong_try_still_leaves_the_code_usable():
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        otp.verify(phone=PHONE, purpose=otp.LOGIN, code=wrong)

    outcome = otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code)

    assert outcome is otp.Outcome.VALID


def test_a_new_code_lifts_the_lock():
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        otp.verify(phone=PHONE, purpose=otp.LOGIN, code=wrong)

    fresh = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    assert otp.verify(phone=PHONE, purpose=otp.LOGIN, code=fresh) is otp.Outcome.VALID


def test_lock_lasts_otp_lock_seconds(settings):
    settings.OTP_LOCK_SECONDS = 1
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        otp.verify(phone=PHONE, purpose=otp.LOGIN, code=wrong)
    locked = otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code)

    time.sleep(1.2)

    assert locked is otp.Outcome.LOCKED
    assert otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code) is otp.Outcome.INVALID


def test_code_expires_after_its_lifetime(settings):
    settings.OTP_EXPIRE_SECONDS = 1
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    time.sleep(1.2)

    assert otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code) is otp.Outcome.INVALID


def test_a_new_code_replaces_the_previous_one(monkeypatch):
    codes = iter(["111111", "222222"])
    monkeypatch.setattr(otp, "generate_code", lambda: next(codes))
    old = otp.issue(phone=PHONE, purpose=otp.LOGIN)
    new = otp.issue(phone=PHONE, purpose=otp.LOGIN)

    assert otp.verify(phone=PHONE, purpose=otp.LOGIN, code=old) is otp.Outcome.INVALID
    assert otp.verify(phone=PHONE, purpose=otp.LOGIN, code=new) is otp.Outcome.VALID


def _verify_together(code: str, *, threads: int, store=None) -> list[otp.Outcome]:
    barrier = threading.Barrier(threads)
    outcomes: list[otp.Outcome] = []
    code_digest = otp.digest(phone=PHONE, purpose=otp.LOGIN, code=code)

    def attempt():
        verifier = store or otp.get_store()
        barrier.wait()
        outcomes.append(
            verifier.verify(phone=PHONE, purpose=otp.LOGIN, code_digest=code_digest)
        )

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


@pytest.mark.redis
def test_concurrent_verifies_of_the_right_code_succeed_once_on_redis():
    for _round in range(20):
        code = otp.issue(phone=PHONE, purpose=otp.LOGIN)

        outcomes = _verify_together(code, threads=8)

        assert outcomes.count(otp.Outcome.VALID) == 1
        assert outcomes.count(otp.Outcome.INVALID) == 7


@pytest.mark.redis
def test_concurrent_wrong_tries_are_all_counted_on_redis():
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    outcomes = _verify_together(wrong, threads=5)

    assert outcomes == [otp.Outcome.INVALID] * 5
    assert otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code) is otp.Outcome.LOCKED


def test_concurrent_verifies_succeed_once_in_the_embedded_cache():
    store = otp.LocalStore()
    code = "123456"
    store.save(
        phone=PHONE,
        purpose=otp.LOGIN,
        code_digest=otp.digest(phone=PHONE, purpose=otp.LOGIN, code=code),
        ttl=60,
    )

    outcomes = _verify_together(code, threads=8, store=store)

    assert outcomes.count(otp.Outcome.VALID) == 1


def test_limits_and_lifetimes_have_their_defaults(settings):
    assert settings.OTP_EXPIRE_SECONDS == 120
    assert settings.OTP_RESEND_SECONDS == 60
    assert settings.OTP_MAX_ATTEMPTS == 5
    assert otp.lock_seconds() == 3600
    assert {
        scope: settings.THROTTLE_RATES[scope]
        for scope in (
            "otp_phone",
            "otp_ip",
            "login_failures_account",
            "login_failures_ip",
            "register",
        )
    } == {
        "otp_phone": "5/hour",
        "otp_ip": "20/hour",
        "login_failures_account": "10/hour",
        "login_failures_ip": "10/15m",
        "register": "10/hour",
    }


def test_wrong_tries_follow_the_setting(settings):
    settings.OTP_MAX_ATTEMPTS = 2
    code = otp.issue(phone=PHONE, purpose=otp.LOGIN)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    otp.verify(phone=PHONE, purpose=otp.LOGIN, code=wrong)
    otp.verify(phone=PHONE, purpose=otp.LOGIN, code=wrong)

    outcome = otp.verify(phone=PHONE, purpose=otp.LOGIN, code=code)

    assert outcome is otp.Outcome.LOCKED


def _start_with(otp_expire_seconds: str) -> subprocess.CompletedProcess:
    """Load the real settings in a new process, as ``manage.py`` does."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DB_", "DJANGO_")) and key != "DATABASE_URL"
    }
    env.update(
        APP_ENV="test", ENV_FILE="/dev/null", OTP_EXPIRE_SECONDS=otp_expire_seconds
    )
    script = "from django.conf import settings; print(settings.OTP_EXPIRE_SECONDS)"
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", script],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_otp_lifetime_over_ten_minutes_stops_the_start():
    result = _start_with("900")

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "OTP_EXPIRE_SECONDS" in lines[0]
    assert "at most 600" in lines[0]
    assert result.stdout == ""


def test_an_otp_lifetime_of_ten_minutes_is_accepted():
    result = _start_with("600")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "600"
