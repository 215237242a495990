import datetime

from django.db import migrations, models
from django.db.models import Value
from django.db.models.functions import Coalesce


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_product_listed"),
    ]

    # The new index is made before the old one goes: the variant's foreign
    # key needs an index that starts with it at every step on MariaDB.
    operations = [
        migrations.AddField(
            model_name="digitalcode",
            name="use_by",
            field=models.GeneratedField(
                db_persist=True,
                expression=Coalesce("expires_at", Value(datetime.date(9999, 12, 31))),
                output_field=models.DateField(),
                verbose_name="use by",
            ),
        ),
        migrations.AddIndex(
            model_name="digitalcode",
            index=models.Index(
                fields=["variant", "status", "use_by", "id"],
                name="catalog_dig_variant_f1cb73_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="digitalcode",
            name="catalog_dig_variant_fc5fc7_idx",
        ),
    ]
