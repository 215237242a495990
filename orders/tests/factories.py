import secrets
from decimal import Decimal

import factory

from accounts.tests.factories import UserFactory
from catalog import vault
from catalog.models import Category, DigitalCode, Product, Variant


class CategoryFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")

    class Meta:
        model = Category


class ProductFactory(factory.django.DjangoModelFactory):
    kind = Product.Kind.GIFT_CARD
    brand = "Apple"
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Gift card {n}")
    slug = factory.Sequence(lambda n: f"gift-card-{n}")

    class Meta:
        model = Product


class VariantFactory(factory.django.DjangoModelFactory):
    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = "$25 US"
    price = Decimal("1250000.00")
    fulfilment = Variant.Fulfilment.CODE

    class Meta:
        model = Variant


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
                last4=plain[-4:],
                expires_at=expires_at,
            )
        )
    return DigitalCode.objects.bulk_create(codes)


__all__ = ["UserFactory"]
