from accounts import sms
from accounts.sms.base import SmsBackend, SmsMessage


class LocmemBackend(SmsBackend):
    """Keeps each message in ``accounts.sms.outbox``; for tests."""

    def send(self, message: SmsMessage) -> None:
        sms.outbox.append(message)
