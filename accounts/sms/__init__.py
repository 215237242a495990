"""Text messages through a backend chosen by ``SMS_BACKEND``.

Like Django's email backends: ``console`` prints each message (development),
``locmem`` keeps an :data:`outbox` (tests), ``file`` writes one file per
message under ``SMS_FILE_PATH`` (end-to-end runs) and ``kavenegar`` sends
through Kavenegar's HTTPS API.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.sms.base import SmsBackend, SmsError, SmsMessage

__all__ = ["BACKENDS", "SmsBackend", "SmsError", "SmsMessage", "get_backend", "outbox"]

BACKENDS = {
    "console": "accounts.sms.console.ConsoleBackend",
    "locmem": "accounts.sms.locmem.LocmemBackend",
    "file": "accounts.sms.file.FileBackend",
    "kavenegar": "accounts.sms.kavenegar.KavenegarBackend",
}

# Messages the locmem backend has "sent", oldest first; tests empty it.
outbox: list[SmsMessage] = []


def get_backend(name: str | None = None) -> SmsBackend:
    name = name or settings.SMS_BACKEND
    return import_string(BACKENDS.get(name, name))()
