"""Payment gateways, chosen by name (``PAYMENT_GATEWAYS`` in settings).

A backend implements :class:`payments.gateways.base.Gateway`: ``start`` asks
the gateway for a payment page, ``verify`` asks it, server to server, whether
the payment went through, and ``refund`` gives the money back where the
gateway supports it.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from payments.gateways.base import Gateway, GatewayError, StartResult, VerifyResult

__all__ = ["Gateway", "GatewayError", "StartResult", "VerifyResult", "available", "get"]


def available() -> list[str]:
    return [
        name
        for name, config in settings.PAYMENT_GATEWAYS.items()
        if config.get("ENABLED", True)
    ]


def get(name: str) -> Gateway | None:
    """The enabled backend called ``name``, or None."""
    if name not in available():
        return None
    config = settings.PAYMENT_GATEWAYS[name]
    backend = import_string(config["BACKEND"])
    return backend(name=name, options=config.get("OPTIONS", {}))
