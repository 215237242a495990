"""Order test data: the catalog's factories, and a fast way to fill a pool."""

import secrets

from catalog import code_files, vault
from catalog.models import DigitalCode, Variant
from catalog.tests.factories import CategoryFactory, ProductFactory, VariantFactory


def add_codes(variant: Variant, count: int, *, expires_at=None) -> list[DigitalCode]:
    codes = []
    for _ in range(count):
        plain = secrets.token_hex(8).upper()
        codes.append(
            DigitalCode(
                variant=variant,
                code_encrypted=vault.encrypt(plain),
                pin_encrypted=vault.encrypt("1234"),
                digest=vault.digest(plain),
                last4=code_files.shown_suffix(plain),
                expires_at=expires_at,
            )
        )
    return DigitalCode.objects.bulk_create(codes)


__all__ = [
    "SHIPPING_ADDRESS",
    "CategoryFactory",
    "ProductFactory",
    "VariantFactory",
    "add_codes",
]


# A valid shipping address for orders with a physical item.
SHIPPING_ADDRESS = {
    "name": "Sara",
    "phone": "+989121234567",
    "line1": "No. 5",
    "city": "Tehran",
    "postal_code": "1234567890",
    "country": "IR",
}
