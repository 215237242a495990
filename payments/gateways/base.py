from dataclasses import dataclass, field
from decimal import Decimal


class GatewayError(Exception):
    """The gateway could not be reached or answered nonsense. Safe to retry:
    nothing is known about the payment."""


@dataclass(frozen=True)
class StartResult:
    authority: str
    redirect_url: str
    exchange: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyResult:
    paid: bool
    code: int | None = None
    reference_id: str = ""
    card_mask: str = ""
    # The attempt is over (the customer came back, or the gateway refused
    # it); an unpaid answer that is not final may still turn paid later.
    final: bool = True
    # Over because the customer cancelled at the gateway, not because the
    # gateway refused the payment.
    cancelled: bool = False
    exchange: dict = field(default_factory=dict)


class Gateway:
    supports_refund = False
    # The currencies the gateway takes (ISO 4217); None for any.
    currencies: frozenset[str] | None = None

    def __init__(self, *, name: str, options: dict):
        self.name = name
        self.options = options

    def start(self, *, payment, callback_url: str, description: str) -> StartResult:
        raise NotImplementedError

    def verify(self, *, payment, callback_data: dict) -> VerifyResult:
        """Ask the gateway whether ``payment`` succeeded, for the amount
        stored on the payment, never one taken from ``callback_data``."""
        raise NotImplementedError

    def refund(self, *, payment) -> dict:
        raise NotImplementedError

    @staticmethod
    def amount_in_rials(amount: Decimal) -> int:
        return int(amount.to_integral_value())
