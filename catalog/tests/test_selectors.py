"""Reads of the catalog that the API tests do not reach directly."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import selectors
from catalog.tests.factories import DigitalCodeFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _in_stock(rows) -> list[bool]:
    return [bool(variant["in_stock"]) for row in rows for variant in row["variants"]]


def _tomorrow(monkeypatch):
    tomorrow = timezone.localdate() + timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)


def test_prepared_list_compares_expiries_with_the_date_of_each_request(monkeypatch):
    variant = VariantFactory()
    DigitalCodeFactory(variant=variant, expires_at=timezone.localdate())

    def request():
        # Rows per request, as the view makes them; the statements they run
        # were compiled on the first request and are kept.
        every = selectors.ProductRows(filters=selectors.ProductFilters())
        in_stock = selectors.ProductRows(
            filters=selectors.ProductFilters(in_stock=True)
        )
        return _in_stock(every[0:10]), in_stock.count()

    today = request()
    _tomorrow(monkeypatch)
    tomorrow = request()

    assert today == ([True], 1)
    assert tomorrow == ([False], 0)


def test_product_list_does_not_count_expired_codes_as_in_stock(monkeypatch):
    variant = VariantFactory()
    DigitalCodeFactory(variant=variant, expires_at=timezone.localdate())
    _tomorrow(monkeypatch)

    (product,) = selectors.product_list(filters=selectors.ProductFilters())
    staff_view = selectors.product_get_for_staff(key=variant.product_id)

    assert [v.in_stock for v in product.listed_variants] == [False]
    assert [v.in_stock for v in staff_view.listed_variants] == [False]


def test_low_stock_levels_leave_out_expired_codes():
    variant = VariantFactory(sku="OLD-STOCK", low_stock_threshold=2)
    yesterday = timezone.localdate() - timedelta(days=1)
    DigitalCodeFactory.create_batch(3, variant=variant, expires_at=yesterday)
    DigitalCodeFactory(variant=variant, expires_at=None)

    low = [(v.sku, v.stock_level) for v in selectors.variants_low_stock()]

    assert low == [("OLD-STOCK", 1)]
