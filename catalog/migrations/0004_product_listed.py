from django.db import migrations, models
from django.db.models import Case, Exists, OuterRef, Q, Value, When


def relist_every_product(apps, schema_editor):
    """``Product.listed`` for the products already there, by the rule of
    ``catalog.selectors.listable_q`` written against this migration's
    models."""
    Category = apps.get_model("catalog", "Category")
    Product = apps.get_model("catalog", "Product")
    Variant = apps.get_model("catalog", "Variant")
    active_categories = Category.objects.filter(
        Q(is_active=True)
        & (Q(parent__isnull=True) | Q(parent__is_active=True))
        & (Q(parent__parent__isnull=True) | Q(parent__parent__is_active=True))
    )
    active_variant = Variant.objects.filter(product_id=OuterRef("pk"), is_active=True)
    listable = (
        Q(is_active=True)
        & Q(category_id__in=active_categories.values("pk"))
        & Q(Exists(active_variant))
    )
    Product.objects.using(schema_editor.connection.alias).update(
        listed=Case(When(listable, then=Value(True)), default=Value(False))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_listing_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="listed",
            field=models.BooleanField(
                default=False,
                editable=False,
                help_text=(
                    "Shown in the public product list: the product and its "
                    "categories are active and it has an active variant."
                ),
                verbose_name="listed",
            ),
        ),
        migrations.RemoveIndex(model_name="product", name="product_listing_by_name"),
        migrations.RemoveIndex(model_name="product", name="product_listing_by_newest"),
        migrations.RemoveIndex(
            model_name="product", name="product_listing_by_category"
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["listed", "name", "id"], name="product_listing_by_name"
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["listed", "created_at", "id"],
                name="product_listing_by_newest",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                fields=["listed", "category"], name="product_listing_by_category"
            ),
        ),
        migrations.RunPython(relist_every_product, migrations.RunPython.noop),
    ]
