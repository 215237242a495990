import sys

from accounts.sms.base import SmsBackend, SmsMessage


class ConsoleBackend(SmsBackend):
    """Prints each message to standard output, as Django's console email
    backend does; the development default. Never through logging, so the
    text stays out of the application's logs."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, message: SmsMessage) -> None:
        self.stream.write(f"SMS to {message.to}\n{message.body}\n{'-' * 40}\n")
        self.stream.flush()
