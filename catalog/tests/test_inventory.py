"""The code pool's allocation order and the reads that walk it."""

import json
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from catalog import inventory
from catalog.models import NEVER_EXPIRES, DigitalCode
from orders.tests.factories import VariantFactory, add_codes

pytestmark = pytest.mark.django_db


def test_use_by_is_the_expiry_or_after_every_date_without_one():
    variant = VariantFactory()
    [dated] = add_codes(variant, 1, expires_at=date(2030, 5, 1))
    [undated] = add_codes(variant, 1)

    use_by = dict(DigitalCode.objects.values_list("id", "use_by"))

    assert use_by == {dated.pk: date(2030, 5, 1), undated.pk: NEVER_EXPIRES}


def test_use_by_follows_a_changed_expiry():
    variant = VariantFactory()
    [code] = add_codes(variant, 1)

    DigitalCode.objects.filter(pk=code.pk).update(expires_at=date(2029, 1, 1))
    after_update = DigitalCode.objects.get(pk=code.pk).use_by
    DigitalCode.objects.filter(pk=code.pk).update(expires_at=None)

    assert after_update == date(2029, 1, 1)
    assert DigitalCode.objects.get(pk=code.pk).use_by == NEVER_EXPIRES


def test_reserve_takes_soonest_use_by_first_across_dated_and_undated_codes():
    variant = VariantFactory()
    today = timezone.localdate()
    undated = add_codes(variant, 2)
    add_codes(variant, 1, expires_at=today - timedelta(days=1))
    later = add_codes(variant, 1, expires_at=today + timedelta(days=30))
    sooner = add_codes(variant, 1, expires_at=today)

    with transaction.atomic():
        first = inventory.codes_reserve(variant=variant, quantity=2)
        rest = inventory.codes_reserve(variant=variant, quantity=2)

    assert first == [sooner[0].pk, later[0].pk]
    assert rest == [undated[0].pk, undated[1].pk]
    with pytest.raises(inventory.OutOfStock), transaction.atomic():
        inventory.codes_reserve(variant=variant, quantity=1)


def _plan(sql: str, params: list) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN FORMAT=JSON " + sql, params)
        return json.loads(cursor.fetchone()[0])


@pytest.mark.mariadb
def test_allocation_and_sold_out_reads_walk_the_allocation_index_without_a_sort():
    """A sort would read (and, for the locking read, lock) the variant's
    whole pool before the LIMIT, and a walk of the primary key would read
    other variants' codes; both reads must take a range of the allocation
    index and stop early."""
    variant = VariantFactory()
    add_codes(VariantFactory(), 30)
    add_codes(variant, 30)
    add_codes(variant, 30, expires_at=date(2031, 1, 1))
    swap = {
        inventory.ID_SENTINEL: variant.pk,
        **inventory.date_swap("default", timezone.localdate()),
    }
    with transaction.atomic():
        locking = inventory._available_codes_statement("default", limit=1)
    sold_out = inventory._sellable_code_statement("default")

    plans = [
        _plan(statement.sql, statement._params(swap))
        for statement in (locking, sold_out)
    ]

    for plan in plans:
        [step] = plan["query_block"]["nested_loop"]
        assert step["table"]["key"] == "catalog_dig_variant_f1cb73_idx", plan
        assert step["table"]["access_type"] == "range", plan
        assert "filesort" not in json.dumps(plan), plan
