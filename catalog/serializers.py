from datetime import tzinfo

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import customer_fields, selectors
from catalog.models import Category, Product, Variant
from catalog.services import VARIANT_FIELDS
from mithrapay.serializers import money_text, time_text

# --- Reading ----------------------------------------------------------------


class CategoryLeafSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class CategoryBranchSerializer(CategoryLeafSerializer):
    children = CategoryLeafSerializer(many=True)


class CategoryTreeSerializer(CategoryLeafSerializer):
    """A top-level category; the tree is at most three levels deep."""

    children = CategoryBranchSerializer(many=True)


class CustomerFieldSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="The key to send in the order's inputs.")
    label = serializers.CharField()
    type = serializers.ChoiceField(choices=["text", "email", "phone"])


def _field_type(field) -> str:
    if field.__class__.__name__ == "EmailField":
        return "email"
    if field.__class__.__name__ == "_PhoneField":
        return "phone"
    return "text"


class VariantSerializer(serializers.ModelSerializer):
    """A variant as customers see it: ``in_stock`` says whether it can be
    bought now, never how many are left."""

    currency = serializers.SerializerMethodField()
    customer_fields = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)

    class Meta:
        model = Variant
        fields = (
            "id",
            "sku",
            "name",
            "price",
            "currency",
            "fulfilment",
            "face_value",
            "face_currency",
            "region",
            "duration_days",
            "customer_fields",
            "max_per_order",
            "in_stock",
        )
        read_only_fields = fields

    def get_currency(self, variant) -> str:
        return settings.SHOP_CURRENCY

    @extend_schema_field(CustomerFieldSerializer(many=True))
    def get_customer_fields(self, variant) -> list[dict]:
        return customer_fields_data(variant.customer_fields)


def customer_fields_data(names: list[str]) -> list[dict]:
    fields = []
    for name in names:
        field = customer_fields.FIELDS.get(name)
        if field is not None:
            fields.append(
                {"name": name, "label": str(field.label), "type": _field_type(field)}
            )
    return fields


class StaffVariantSerializer(VariantSerializer):
    class Meta(VariantSerializer.Meta):
        fields = (
            *VariantSerializer.Meta.fields,
            "is_active",
            "position",
            "stock",
            "low_stock_threshold",
        )
        read_only_fields = fields


class ProductSerializer(serializers.ModelSerializer):
    category = CategoryLeafSerializer(read_only=True)
    variants = VariantSerializer(many=True, read_only=True, source="listed_variants")

    class Meta:
        model = Product
        fields = (
            "id",
            "kind",
            "brand",
            "name",
            "slug",
            "description",
            "image",
            "category",
            "created_at",
            "variants",
        )
        read_only_fields = fields


class StaffProductSerializer(ProductSerializer):
    variants = StaffVariantSerializer(
        many=True, read_only=True, source="listed_variants"
    )

    class Meta(ProductSerializer.Meta):
        fields = (*ProductSerializer.Meta.fields, "is_active", "updated_at")
        read_only_fields = fields


# The public product answers, built from ``selectors.product_rows`` /
# ``product_row_get`` rows: the same keys, order and value formats as
# ``ProductSerializer`` (which documents them in the schema), at a fraction
# of the cost of nested serializers.
_IMAGE_STORAGE = Product._meta.get_field("image").storage


def product_data(row: dict, *, zone: tzinfo | None = None) -> dict:
    """One product row (with its ``variants`` rows) as customers see it;
    times in ``zone``, the active time zone by default."""
    money = money_text
    currency = settings.SHOP_CURRENCY
    image = row["image"]
    return {
        "id": row["id"],
        "kind": row["kind"],
        "brand": row["brand"],
        "name": row["name"],
        "slug": row["slug"],
        "description": row["description"],
        "image": _IMAGE_STORAGE.url(image) if image else None,
        "category": {
            "id": row["category_id"],
            "name": row["category_name"],
            "slug": row["category_slug"],
        },
        "created_at": time_text(row["created_at"], zone),
        "variants": [
            {
                "id": variant["id"],
                "sku": variant["sku"],
                "name": variant["name"],
                "price": money(variant["price"]),
                "currency": currency,
                "fulfilment": variant["fulfilment"],
                "face_value": (
                    None
                    if variant["face_value"] is None
                    else money(variant["face_value"])
                ),
                "face_currency": variant["face_currency"],
                "region": variant["region"],
                "duration_days": variant["duration_days"],
                "customer_fields": customer_fields_data(variant["customer_fields"]),
                "max_per_order": variant["max_per_order"],
                "in_stock": bool(variant["in_stock"]),
            }
            for variant in row["variants"]
        ],
    }


# --- Query parameters -------------------------------------------------------


class ProductQuerySerializer(serializers.Serializer):
    category = serializers.SlugField(
        required=False,
        allow_unicode=True,
        max_length=140,
        help_text="A category's slug; its subcategories are included.",
    )
    kind = serializers.ChoiceField(choices=Product.Kind.choices, required=False)
    brand = serializers.CharField(required=False, allow_blank=True, max_length=80)
    region = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=8,
        help_text="Variants for this region (gift cards), such as US or DE.",
    )
    min_price = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False
    )
    max_price = serializers.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, required=False
    )
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Words in a product's or variant's name, or the brand.",
    )
    ordering = serializers.ChoiceField(
        choices=list(selectors.ORDERINGS), required=False, default="name"
    )

    def validate(self, attrs):
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError(
                {"max_price": [_("The highest price is below the lowest.")]}
            )
        slug = attrs.get("category")
        if slug:
            attrs["category_id"] = selectors.category_id_for_slug(slug=slug)
            if attrs["category_id"] is None:
                raise serializers.ValidationError(
                    {"category": [_("No active category has this slug.")]}
                )
        return attrs

    @classmethod
    def filters_for(cls, params) -> selectors.ProductFilters:
        """The validated filters of a query string. One that names no filter
        (the catalog's first pages) gets the defaults without building and
        running the serializer, which would give the same."""
        if cls._declared_fields.keys().isdisjoint(params):
            return selectors.ProductFilters()
        query = cls(data=params)
        query.is_valid(raise_exception=True)
        return query.filters()

    def filters(self) -> selectors.ProductFilters:
        data = self.validated_data
        return selectors.ProductFilters(
            category_id=data.get("category_id"),
            kind=data.get("kind", ""),
            brand=data.get("brand", "").strip(),
            region=data.get("region", "").strip(),
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
            in_stock=data.get("in_stock"),
            search=data.get("search", "").strip(),
            ordering=data.get("ordering") or "name",
        )


# --- Staff writes -----------------------------------------------------------


class ProductWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Product.Kind.choices)
    brand = serializers.CharField(max_length=80)
    category = serializers.SlugRelatedField(
        slug_field="slug", queryset=Category.objects.all()
    )
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(
        max_length=220,
        allow_unicode=True,
        required=False,
        allow_blank=True,
        help_text="Made from the name when left out.",
    )
    description = serializers.CharField(required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, default=True)


class VariantWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Variant
        fields = VARIANT_FIELDS
