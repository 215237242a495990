import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import errors, selectors, services
from catalog.errors import CodeFileError, VariantNotCoded
from catalog.models import Category, CodeBatch, DigitalCode, Variant
from catalog.tests.factories import (
    CategoryFactory,
    CodeBatchFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
    ProductFactory,
    SubscriptionVariantFactory,
    VariantFactory,
    code_lines,
)
from mithrapay.errors import ApplicationError

pytestmark = pytest.mark.django_db


def _error(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value


# --- Importing ---------------------------------------------------------------


def test_code_import_adds_every_code_encrypted_with_a_batch():
    variant = VariantFactory()

    summary = services.code_import(
        variant=variant,
        data=code_lines(3).encode(),
        source_name="april.txt",
        supplier="Acme",
        unit_cost=Decimal("9.50"),
    )

    batch = CodeBatch.objects.get(pk=summary.batch_id)
    assert (summary.imported, summary.rejected) == (3, 0)
    assert (batch.imported_count, batch.rejected_count) == (3, 0)
    assert (batch.supplier, batch.unit_cost, batch.source_name) == (
        "Acme",
        Decimal("9.50"),
        "april.txt",
    )
    codes = DigitalCode.objects.filter(batch=batch).order_by("last4")
    plaintexts = sorted(selectors.code_secrets(code=c).code for c in codes)
    assert plaintexts == sorted(code_lines(3).splitlines())
    assert all(c.status == DigitalCode.Status.AVAILABLE for c in codes)


def test_code_import_stores_no_plaintext_anywhere():
    variant = VariantFactory()
    data = "code,pin,serial\nSECRET-CODE-0001,4321,SER-777\n"

    services.code_import(variant=variant, data=data)

    stored = [str(v) for row in DigitalCode.objects.values() for v in row.values()]
    stored += [str(v) for row in CodeBatch.objects.values() for v in row.values()]
    assert not any("SECRET-CODE" in value for value in stored)
    assert not any(value in ("4321", "SER-777") for value in stored)
    assert DigitalCode.objects.get().last4 == "0001"


@pytest.mark.parametrize(
    ("code", "kept"),
    [
        ("abcd", "D"),
        ("AB-C12", "12"),
        ("AB12CD34EF56GH78", "GH78"),
        ("A1B2C3D4E", "D4E"),
    ],
)
def test_code_import_keeps_at_most_a_third_of_a_code_in_plaintext(code, kept):
    variant = VariantFactory()

    services.code_import(variant=variant, data=f"{code}\n")

    stored = DigitalCode.objects.get()
    assert stored.last4 == kept
    assert len(stored.last4) <= len(code) // 3
    assert stored.masked == f"••••{kept}"


def test_code_import_reads_pin_serial_and_expiry_columns_in_any_order():
    variant = VariantFactory()
    expiry = timezone.localdate() + datetime.timedelta(days=365)
    data = (
        f"Expiry;PIN;code\n{expiry.isoformat()};1111;CODE-AAAA-0001\n;;CODE-AAAA-0002\n"
    )

    services.code_import(variant=variant, data=data)

    first, second = DigitalCode.objects.order_by("last4")
    assert first.expires_at == expiry
    assert selectors.code_secrets(code=first).pin == "1111"
    assert second.expires_at is None
    assert second.pin_encrypted == ""


def test_code_import_reads_columns_by_position_without_a_header():
    variant = VariantFactory()

    services.code_import(variant=variant, data="CODE-BBBB-0001\t2222\tSN-1\n")

    secrets = selectors.code_secrets(code=DigitalCode.objects.get())
    assert (secrets.code, secrets.pin, secrets.serial) == (
        "CODE-BBBB-0001",
        "2222",
        "SN-1",
    )


def test_code_import_skips_and_reports_duplicates_in_the_file_and_the_pool():
    variant = VariantFactory()
    services.code_import(variant=variant, data="OLD-CODE-0001\n")
    data = "NEW-CODE-0001\nold-code-0001\nNEW-CODE-0002\n new-code-0001 \n"

    summary = services.code_import(variant=variant, data=data)

    assert summary.imported == 2
    assert (summary.duplicates_in_file, summary.duplicates_in_pool) == (1, 1)
    assert summary.duplicate_rows == (2, 4)
    assert DigitalCode.objects.count() == 3
    assert CodeBatch.objects.get(pk=summary.batch_id).rejected_count == 2
    assert "2, 4" in summary.describe()


def test_code_import_refuses_a_code_already_in_another_variants_pool():
    services.code_import(variant=VariantFactory(), data="SHARED-CODE-01\n")

    summary = services.code_import(variant=VariantFactory(), data="SHARED-CODE-01\n")

    assert (summary.imported, summary.duplicates_in_pool) == (0, 1)


@pytest.mark.parametrize(
    ("data", "bad_rows"),
    [
        ("GOOD-CODE-0001\nab\nGOOD-CODE-0002\n", ["2"]),
        ("GOOD-CODE-0001,1234,SN,2020-01-01\n", ["1"]),
        ("GOOD-CODE-0001,1234,SN,31/12/2030\n", ["1"]),
        ("GOOD-CODE-0001,1,2,2030-01-01,extra\n", ["1"]),
        ("code,colour\nGOOD-CODE-0001,red\n", ["1"]),
        ("GOOD-CODE-0001\nBAD\x07CODE-0002\n" + "X" * 101 + "\n", ["2", "3"]),
    ],
)
def test_code_import_names_bad_rows_and_writes_nothing(data, bad_rows):
    variant = VariantFactory()

    error = _error(lambda: services.code_import(variant=variant, data=data))

    assert isinstance(error, CodeFileError)
    assert error.code == "code_file_invalid"
    assert sorted(error.fields["rows"]) == bad_rows
    assert not CodeBatch.objects.exists()
    assert not DigitalCode.objects.exists()


@pytest.mark.parametrize("data", [b"", b"\n \n\t\n", b"code,pin\n"])
def test_code_import_refuses_an_empty_file(data):
    error = _error(lambda: services.code_import(variant=VariantFactory(), data=data))

    assert error.code == "code_file_empty"
    assert not CodeBatch.objects.exists()


def test_code_import_refuses_a_file_that_is_not_utf8():
    data = "CODE-ÄÖÜ-0001\n".encode("latin-1")

    error = _error(lambda: services.code_import(variant=VariantFactory(), data=data))

    assert error.code == "code_file_encoding"
    assert not CodeBatch.objects.exists()


def test_code_import_accepts_a_utf8_byte_order_mark():
    summary = services.code_import(
        variant=VariantFactory(), data="\ufeffcode\nCODE-BOM-0001\n".encode()
    )

    assert summary.imported == 1


def test_code_import_refuses_a_variant_not_delivered_by_code():
    variant = PhysicalVariantFactory()

    with pytest.raises(VariantNotCoded):
        services.code_import(variant=variant, data="CODE-0000-0001\n")


@pytest.mark.parametrize("cost", [Decimal("-1"), Decimal("1.234"), Decimal("NaN")])
def test_code_import_refuses_a_bad_unit_cost(cost):
    error = _error(
        lambda: services.code_import(
            variant=VariantFactory(), data="CODE-0000-0001\n", unit_cost=cost
        )
    )

    assert error.code == "validation_error"
    assert "unit_cost" in error.fields
    assert not CodeBatch.objects.exists()


def test_code_import_reports_progress_per_phase():
    calls = []

    services.code_import(
        variant=VariantFactory(),
        data=code_lines(2500),
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )

    for phase in ("encrypt", "save"):
        steps = [call for call in calls if call[0] == phase]
        assert sum(done for _, done, _ in steps) == 2500
        assert {total for _, _, total in steps} == {2500}


# --- Voiding -----------------------------------------------------------------


def test_code_void_batch_voids_the_batchs_available_and_reserved_codes():
    batch = CodeBatchFactory()
    other = DigitalCodeFactory(variant=batch.variant)
    available = DigitalCodeFactory(variant=batch.variant, batch=batch)
    reserved = DigitalCodeFactory(
        variant=batch.variant, batch=batch, status=DigitalCode.Status.RESERVED
    )
    sold = DigitalCodeFactory(
        variant=batch.variant, batch=batch, status=DigitalCode.Status.SOLD
    )

    count = services.code_void_batch(batch=batch)

    statuses = dict(DigitalCode.objects.values_list("pk", "status"))
    assert count == 2
    assert statuses == {
        other.pk: "available",
        available.pk: "void",
        reserved.pk: "void",
        sold.pk: "sold",
    }


def test_codes_void_leaves_sold_codes_sold():
    sold = DigitalCodeFactory(status=DigitalCode.Status.SOLD)
    available = DigitalCodeFactory()

    count = services.codes_void(code_ids=[sold.pk, available.pk])

    assert count == 1
    assert DigitalCode.objects.get(pk=sold.pk).status == "sold"
    assert DigitalCode.objects.get(pk=available.pk).status == "void"


# --- Products and variants ---------------------------------------------------


def test_product_create_makes_a_slug_from_the_name():
    product = services.product_create(
        kind="gift_card",
        brand=" Apple ",
        category=CategoryFactory(),
        name="iTunes Card",
    )

    assert (product.slug, product.brand) == ("itunes-card", "Apple")


def test_variant_create_upper_cases_region_and_currency():
    product = ProductFactory()

    variant = services.variant_create(
        product=product,
        data={
            "sku": "APL-25",
            "name": "$25",
            "price": Decimal("10.00"),
            "face_value": Decimal("25"),
            "face_currency": "usd",
            "region": "us",
        },
    )

    assert (variant.fulfilment, variant.face_currency, variant.region) == (
        Variant.Fulfilment.CODE,
        "USD",
        "US",
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"region": ""}, "region"),
        ({"face_value": None}, "face_value"),
        ({"face_currency": "DOLLARS"}, "face_currency"),
        ({"fulfilment": "shipment"}, "fulfilment"),
        ({"price": Decimal("-1.00")}, "price"),
        ({"customer_fields": ["shoe_size"]}, "customer_fields"),
    ],
)
def test_variant_create_refuses_what_the_kind_does_not_allow(data, field):
    base = {
        "sku": "APL-25",
        "name": "$25",
        "price": Decimal("10.00"),
        "face_value": Decimal("25"),
        "face_currency": "USD",
        "region": "US",
    }

    with pytest.raises(ValidationError) as caught:
        services.variant_create(product=ProductFactory(), data={**base, **data})

    assert field in caught.value.message_dict
    assert not Variant.objects.exists()


def test_variant_create_two_variants_may_share_every_attribute_but_the_sku():
    first = VariantFactory()
    data = {
        name: getattr(first, name)
        for name in ("name", "price", "face_value", "face_currency", "region")
    }

    second = services.variant_create(product=first.product, data={**data, "sku": "X-2"})

    assert second.pk != first.pk


def test_subscription_variant_needs_a_duration():
    variant = SubscriptionVariantFactory()

    with pytest.raises(ValidationError) as caught:
        services.variant_update(variant=variant, data={"duration_days": None})

    assert "duration_days" in caught.value.message_dict


def test_product_update_refuses_a_kind_its_variants_do_not_fit():
    variant = VariantFactory()

    with pytest.raises(ValidationError) as caught:
        services.product_update(product=variant.product, data={"kind": "physical"})

    assert "kind" in caught.value.message_dict


def test_variant_update_with_the_stock_staff_saw_applies_the_new_count():
    variant = PhysicalVariantFactory(stock=10)

    services.variant_update(variant=variant, data={"stock": 25}, expected_stock=10)

    variant.refresh_from_db()
    assert variant.stock == 25


def test_variant_update_refuses_a_count_based_on_stock_orders_moved_since():
    variant = PhysicalVariantFactory(stock=10, name="Cable")
    Variant.objects.filter(pk=variant.pk).update(stock=7)

    with pytest.raises(errors.StockChanged) as caught:
        services.variant_update(
            variant=variant, data={"stock": 25, "name": "New"}, expected_stock=10
        )

    assert caught.value.code == "stock_changed"
    assert "stock" in caught.value.fields
    variant.refresh_from_db()
    assert (variant.stock, variant.name) == (7, "Cable")


def test_variant_update_writes_only_the_columns_it_is_given():
    variant = PhysicalVariantFactory(stock=10)

    with CaptureQueriesContext(connection) as queries:
        services.variant_update(variant=variant, data={"name": "Renamed"})

    (update,) = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert re.search(r"\bstock\b", update) is None
    assert re.search(r"\bname\b", update)


def test_variant_update_moves_a_variant_to_another_product():
    variant = VariantFactory()
    other = ProductFactory()

    services.variant_update(variant=variant, data={"product": other})

    variant.refresh_from_db()
    assert variant.product == other


def test_category_update_changes_the_named_fields_and_checks_the_depth():
    top = CategoryFactory()
    middle = CategoryFactory(parent=top)
    low = CategoryFactory(parent=middle)
    category = CategoryFactory(name="Loose")

    services.category_update(category=category, data={"name": "Consoles", "slug": ""})
    with pytest.raises(ValidationError):
        services.category_update(category=category, data={"parent": low})

    category = Category.objects.get(pk=category.pk)
    assert (category.name, category.slug, category.parent) == (
        "Consoles",
        "consoles",
        None,
    )


def test_category_cannot_nest_four_levels():
    top = CategoryFactory()
    middle = CategoryFactory(parent=top)
    low = CategoryFactory(parent=middle)

    with pytest.raises(ValidationError):
        services.category_create(name="Too deep", parent=low)
