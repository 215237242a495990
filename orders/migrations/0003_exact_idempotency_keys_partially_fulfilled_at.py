import hashlib

from django.conf import settings
from django.db import migrations, models


def digest_existing_keys(apps, schema_editor):
    IdempotencyKey = apps.get_model("orders", "IdempotencyKey")
    for record in IdempotencyKey.objects.only("id", "key").iterator():
        IdempotencyKey.objects.filter(pk=record.pk).update(
            key_digest=hashlib.sha256(record.key.encode()).hexdigest()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_backoffice"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="partially_fulfilled_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="partially fulfilled at"
            ),
        ),
        migrations.AddField(
            model_name="idempotencykey",
            name="key_digest",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(digest_existing_keys, migrations.RunPython.noop),
        # The new unique index is added before the old one goes: on MariaDB
        # the user foreign key needs an index starting with user_id at all
        # times.
        migrations.AddConstraint(
            model_name="idempotencykey",
            constraint=models.UniqueConstraint(
                fields=("user", "key_digest"), name="idempotency_key_digest_per_user"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="idempotencykey",
            name="idempotency_key_per_user",
        ),
    ]
