"""Back-office races on the real MariaDB and Redis: real threads."""

import threading

import pytest
from django.db import connection

from accounts import roles
from catalog import services
from catalog.models import CodeReveal, Variant
from catalog.tests.factories import DigitalCodeFactory, PhysicalVariantFactory
from mithrapay.tests.backoffice import roles_ready, staff_in
from mithrapay.throttling import RateLimited

pytestmark = pytest.mark.django_db(transaction=True)


def _together(count: int, work) -> tuple[list, list]:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
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
