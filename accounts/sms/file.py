import uuid
from pathlib import Path

from django.conf import settings

from accounts.sms.base import SmsBackend, SmsError, SmsMessage


class FileBackend(SmsBackend):
    """Writes one file per message under ``SMS_FILE_PATH``: the phone on the
    first line, the text after it. For end-to-end runs that read the code."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, message: SmsMessage) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            target = self.path / f"{message.to.lstrip('+')}-{uuid.uuid4().hex}.txt"
            target.write_text(f"{message.to}\n{message.body}\n", encoding="utf-8")
        except OSError as exc:
            raise SmsError(f"cannot write to the SMS folder ({exc.strerror})") from None
