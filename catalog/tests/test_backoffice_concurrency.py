"""Back-office races on the real MariaDB and Redis: real threads."""

import threading

import pytest
from django.db import connection, transaction

from accounts import roles
from catalog import inventory, services
from catalog.errors import StockChanged
from catalog.models import CodeReveal, Variant
from catalog.tests.factories import (
    CodeBatchFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
)
from mithrapay.tests.backoffice import roles_ready, staff_in
from mithrapay.throttling import RateLimited

pytestmark = pytest.mark.django_db(transaction=True)


def _together(count: int, work) -> tuple[list, list]:
    return _all_at_once([work] * count)


def _all_at_once(works) -> tuple[list, list]:
    """Run each of ``works`` in its own thread, released together; their
    results and the exceptions they raised."""
    barrier = threading.Barrier(len(works))
    results, errors = [], []

    def run(work):
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


@pytest.mark.mariadb
def test_simultaneous_low_stock_runs_report_each_fall_once():
    variants = [
        PhysicalVariantFactory(stock=1, low_stock_threshold=5) for _ in range(30)
    ]

    results, errors = _together(4, services.low_stock_claim)

    assert errors == []
    claimed = [row.variant_id for rows in results for row in rows]
    assert sorted(claimed) == sorted(v.pk for v in variants)
    assert not Variant.objects.filter(low_stock_alerted_at__isnull=True).exists()


@pytest.mark.mariadb
@pytest.mark.redis
def test_simultaneous_reveals_stop_exactly_at_the_limit(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "code_reveal": "5/hour"}
    roles_ready()
    finance = staff_in(roles.FINANCE)
    code = DigitalCodeFactory()

    def reveal():
        return services.code_reveal(code=code, staff=finance, reason="race", ip=None)

    results, errors = _together(12, reveal)

    assert len(results) == 5
    assert len(errors) == 7
    assert all(isinstance(error, RateLimited) for error in errors)
    assert CodeReveal.objects.count() == 5


@pytest.mark.mariadb
def test_a_staff_stock_edit_racing_orders_never_undoes_a_sale():
    variant = PhysicalVariantFactory(stock=20)
    shown_to_staff = 20

    def order():
        with transaction.atomic():
            return inventory.stock_reserve(variant=variant, quantity=1)

    def staff():
        return services.variant_update(
            variant=variant, data={"stock": 100}, expected_stock=shown_to_staff
        )

    results, errors = _all_at_once([order] * 5 + [staff])

    variant.refresh_from_db()
    saved = [r for r in results if isinstance(r, Variant)]
    assert all(isinstance(error, StockChanged) for error in errors)
    assert len(saved) + len(errors) == 1
    # Saved: every order came after the edit. Refused: the orders' count.
    assert variant.stock == (95 if saved else 15)


@pytest.mark.mariadb
def test_a_batch_void_racing_reservations_leaves_none_of_its_codes_to_deliver():
    batch = CodeBatchFactory()
    DigitalCodeFactory.create_batch(10, variant=batch.variant, batch=batch)

    def reserve():
        with transaction.atomic():
            return inventory.codes_reserve(variant=batch.variant, quantity=2)

    def void():
        return services.code_void_batch(batch=batch)

    results, errors = _all_at_once([reserve] * 4 + [void])

    assert all(isinstance(error, inventory.OutOfStock) for error in errors)
    assert [count for count in results if isinstance(count, int)] == [10]
    assert set(batch.codes.values_list("status", flat=True)) == {"void"}
