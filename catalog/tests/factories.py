from decimal import Decimal

import factory

from catalog import code_files, vault
from catalog.models import Category, CodeBatch, DigitalCode, Product, Variant


class CategoryFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")

    class Meta:
        model = Category


class ProductFactory(factory.django.DjangoModelFactory):
    kind = Product.Kind.GIFT_CARD
    brand = "Apple"
    category = factory.SubFactory(CategoryFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")

    class Meta:
        model = Product


class VariantFactory(factory.django.DjangoModelFactory):
    """A gift-card variant delivered from the pool."""

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Variant {n}")
    price = Decimal("100.00")
    fulfilment = Variant.Fulfilment.CODE
    face_value = Decimal("25.00")
    face_currency = "USD"
    region = "US"

    class Meta:
        model = Variant


class SubscriptionVariantFactory(VariantFactory):
    product = factory.SubFactory(
        ProductFactory, kind=Product.Kind.SUBSCRIPTION, brand="Spotify"
    )
    fulfilment = Variant.Fulfilment.MANUAL
    face_value = None
    face_currency = ""
    region = ""
    duration_days = 30
    customer_fields = factory.LazyFunction(lambda: ["account_email"])


class PhysicalVariantFactory(VariantFactory):
    product = factory.SubFactory(
        ProductFactory, kind=Product.Kind.PHYSICAL, brand="MithraPay"
    )
    fulfilment = Variant.Fulfilment.SHIPMENT
    face_value = None
    face_currency = ""
    region = ""
    stock = 10


class CodeBatchFactory(factory.django.DjangoModelFactory):
    variant = factory.SubFactory(VariantFactory)
    supplier = "Supplier"

    class Meta:
        model = CodeBatch


class DigitalCodeFactory(factory.django.DjangoModelFactory):
    """A code of the pool; ``plaintext`` is the code before encryption."""

    variant = factory.SubFactory(VariantFactory)
    code_encrypted = factory.LazyAttribute(lambda o: vault.encrypt(o.plaintext))
    digest = factory.LazyAttribute(lambda o: vault.digest(o.plaintext))
    last4 = factory.LazyAttribute(
        lambda o: code_files.shown_suffix(vault.normalize(o.plaintext))
    )

    class Params:
        plaintext = factory.Sequence(lambda n: f"GIFT-{n:04d}-CODE-{n:06d}")

    class Meta:
        model = DigitalCode


def code_lines(count: int, *, start: int = 0, prefix: str = "CARD") -> str:
    """``count`` distinct codes, one a line."""
    return "\n".join(f"{prefix}-{n:06d}-XQ" for n in range(start, start + count))


def code_file(tmp_path, content: str | bytes, name: str = "codes.csv"):
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path
