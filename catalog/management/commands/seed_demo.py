"""``manage.py seed_demo``: a small demo shop, safe to run again.

Creates what is missing (categories, products, variants by slug and SKU)
and leaves what exists as it is, so staff edits survive a second run. Code
variants without any batch get freshly generated demo codes through the
import service; they are not real codes.
"""

import secrets
from decimal import Decimal

from django.core.management.base import BaseCommand

from catalog import services
from catalog.models import Category, Product, Variant

CATEGORIES = (
    # slug, name, parent slug
    ("gift-cards", "Gift cards", None),
    ("app-stores", "App stores", "gift-cards"),
    ("gaming", "Gaming", "gift-cards"),
    ("subscriptions", "Subscriptions", None),
    ("video", "Video", "subscriptions"),
    ("music", "Music", "subscriptions"),
    ("accessories", "Accessories", None),
)

GIFT, SUB, PHYS = (
    Product.Kind.GIFT_CARD,
    Product.Kind.SUBSCRIPTION,
    Product.Kind.PHYSICAL,
)
CODE, MANUAL, SHIP = (
    Variant.Fulfilment.CODE,
    Variant.Fulfilment.MANUAL,
    Variant.Fulfilment.SHIPMENT,
)


def _card(sku, name, price, face, currency, region, codes=25):
    return {
        "sku": sku,
        "name": name,
        "price": Decimal(price),
        "fulfilment": CODE,
        "face_value": Decimal(face),
        "face_currency": currency,
        "region": region,
        "demo_codes": codes,
    }


PRODUCTS = (
    {
        "slug": "apple-gift-card",
        "kind": GIFT,
        "brand": "Apple",
        "category": "app-stores",
        "name": "Apple Gift Card",
        "description": "For apps, games, music and iCloud on a US Apple account.",
        "variants": (
            _card("APPLE-US-10", "$10 (US)", "6500000", "10", "USD", "US"),
            _card("APPLE-US-25", "$25 (US)", "16000000", "25", "USD", "US"),
        ),
    },
    {
        "slug": "google-play-gift-card",
        "kind": GIFT,
        "brand": "Google Play",
        "category": "app-stores",
        "name": "Google Play Gift Card",
        "description": "Credit for apps, games and books on Google Play.",
        "variants": (
            _card("GOOGLE-DE-10", "€10 (DE)", "7000000", "10", "EUR", "DE"),
            _card("GOOGLE-US-25", "$25 (US)", "16200000", "25", "USD", "US"),
        ),
    },
    {
        "slug": "steam-wallet",
        "kind": GIFT,
        "brand": "Steam",
        "category": "gaming",
        "name": "Steam Wallet Code",
        "description": "Adds funds to a Steam wallet.",
        "variants": (
            _card("STEAM-US-20", "$20 (US)", "13000000", "20", "USD", "US"),
            # No codes yet: the shop shows it out of stock.
            _card("STEAM-US-50", "$50 (US)", "32000000", "50", "USD", "US", codes=0),
        ),
    },
    {
        "slug": "netflix-premium",
        "kind": SUB,
        "brand": "Netflix",
        "category": "video",
        "name": "Netflix Premium",
        "description": "Four screens in Ultra HD, as a code to redeem.",
        "variants": (
            {
                "sku": "NETFLIX-PREMIUM-1M",
                "name": "1 month",
                "price": Decimal("15000000"),
                "fulfilment": CODE,
                "duration_days": 30,
                "demo_codes": 25,
            },
        ),
    },
    {
        "slug": "spotify-premium",
        "kind": SUB,
        "brand": "Spotify",
        "category": "music",
        "name": "Spotify Premium",
        "description": "Activated by our staff on your own Spotify account.",
        "variants": (
            {
                "sku": "SPOTIFY-12M",
                "name": "12 months",
                "price": Decimal("90000000"),
                "fulfilment": MANUAL,
                "duration_days": 365,
                "customer_fields": ["account_email"],
            },
        ),
    },
    {
        "slug": "usb-c-cable",
        "kind": PHYS,
        "brand": "MithraPay",
        "category": "accessories",
        "name": "USB-C charging cable",
        "description": "Braided, 60 W.",
        "variants": (
            {
                "sku": "CABLE-USBC-1M",
                "name": "1 m",
                "price": Decimal("2500000"),
                "fulfilment": SHIP,
                "stock": 40,
            },
            {
                "sku": "CABLE-USBC-2M",
                "name": "2 m",
                "price": Decimal("3200000"),
                "fulfilment": SHIP,
                "stock": 0,
            },
        ),
    },
)

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def demo_code() -> str:
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
    return "-".join(groups)


class Command(BaseCommand):
    help = (
        "Create a small demo catalog with codes; running it again adds nothing twice."
    )

    def handle(self, *args, **options):
        created = {"categories": 0, "products": 0, "variants": 0, "codes": 0}
        categories = self._categories(created)
        for spec in PRODUCTS:
            product = Product.objects.filter(slug=spec["slug"]).first()
            if product is None:
                product = services.product_create(
                    kind=spec["kind"],
                    brand=spec["brand"],
                    category=categories[spec["category"]],
                    name=spec["name"],
                    slug=spec["slug"],
                    description=spec["description"],
                )
                created["products"] += 1
            for variant_spec in spec["variants"]:
                self._variant(product, dict(variant_spec), created)
        self.stdout.write(
            "Demo catalog: {categories} categories, {products} products, "
            "{variants} variants and {codes} codes added.".format(**created)
        )

    def _categories(self, created) -> dict[str, Category]:
        categories = {
            c.slug: c
            for c in Category.objects.filter(slug__in=[s for s, *_ in CATEGORIES])
        }
        for slug, name, parent in CATEGORIES:
            if slug not in categories:
                categories[slug] = services.category_create(
                    name=name,
                    slug=slug,
                    parent=categories[parent] if parent else None,
                    position=len(categories),
                )
                created["categories"] += 1
        return categories

    def _variant(self, product, spec, created) -> None:
        count = spec.pop("demo_codes", 0)
        variant = Variant.objects.filter(sku=spec["sku"]).first()
        if variant is None:
            variant = services.variant_create(product=product, data=spec)
            created["variants"] += 1
        if count and not variant.batches.exists():
            codes = "\n".join(demo_code() for _ in range(count))
            summary = services.code_import(
                variant=variant,
                data=codes,
                source_name="seed_demo",
                supplier="Demo supplier",
            )
            created["codes"] += summary.imported
