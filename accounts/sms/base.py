from dataclasses import dataclass, field


class SmsError(Exception):
    """The provider refused the message or could not be reached.

    ``reason`` is safe to log: it never holds the message text.
    """

    def __init__(self, reason: str, *, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class SmsMessage:
    """One text to one phone (E.164).

    ``code`` is set for one-time codes, so a provider with verification
    templates can send the code alone; ``body`` is the full text otherwise.
    """

    to: str
    body: str
    code: str | None = field(default=None, repr=False)

    def __repr__(self):
        # The text may hold a one-time code; never let a repr leak it.
        return f"SmsMessage(to={self.to!r})"


class SmsBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError
