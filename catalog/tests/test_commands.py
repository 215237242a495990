from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Category, CodeBatch, DigitalCode, Product, Variant
from catalog.tests.factories import (
    DigitalCodeFactory,
    PhysicalVariantFactory,
    VariantFactory,
    code_file,
    code_lines,
)

pytestmark = pytest.mark.django_db


def _import(*args, **options) -> str:
    out = StringIO()
    call_command("import_codes", *args, stdout=out, verbosity=0, **options)
    return out.getvalue()


def test_import_codes_imports_a_file_and_prints_the_summary(tmp_path):
    variant = VariantFactory(sku="APPLE-US-25")
    DigitalCodeFactory(variant=variant, plaintext="CARD-000001-XQ")
    path = code_file(tmp_path, code_lines(5) + "\nCARD-000000-XQ\n")

    output = _import(str(path), "--supplier=Acme", "--cost=7.25", sku="APPLE-US-25")

    batch = CodeBatch.objects.get()
    assert "4 of 6 codes imported into APPLE-US-25" in output
    assert (
        "2 duplicates skipped (1 repeated in the file, 1 already in the pool)" in output
    )
    assert (batch.supplier, str(batch.unit_cost), batch.source_name) == (
        "Acme",
        "7.25",
        "codes.csv",
    )
    assert variant.codes.count() == 5


def test_import_codes_fails_with_the_bad_row_numbers_and_writes_nothing(tmp_path):
    VariantFactory(sku="APPLE-US-25")
    path = code_file(tmp_path, "CARD-000001-XQ\nx\nCARD-000002-XQ,1,2,not-a-date\n")

    with pytest.raises(CommandError) as caught:
        _import(str(path), sku="APPLE-US-25")

    message = str(caught.value)
    assert "code_file_invalid" in message
    assert "row 2:" in message
    assert "row 3:" in message
    assert "Nothing was imported." in message
    assert not DigitalCode.objects.exists()
    assert not CodeBatch.objects.exists()


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "code_file_empty"), ("ÄÖÜ-CODE-1\n".encode("cp1252"), "code_file_encoding")],
)
def test_import_codes_fails_on_an_unusable_file(tmp_path, content, code):
    VariantFactory(sku="APPLE-US-25")
    path = code_file(tmp_path, content)

    with pytest.raises(CommandError, match=code):
        _import(str(path), sku="APPLE-US-25")

    assert not CodeBatch.objects.exists()


def test_import_codes_fails_on_an_unknown_sku(tmp_path):
    path = code_file(tmp_path, code_lines(2))

    with pytest.raises(CommandError, match="NO-SUCH-SKU"):
        _import(str(path), sku="NO-SUCH-SKU")

    assert not DigitalCode.objects.exists()


def test_import_codes_fails_on_a_missing_file(tmp_path):
    VariantFactory(sku="APPLE-US-25")

    with pytest.raises(CommandError, match="cannot be read"):
        _import(str(tmp_path / "missing.csv"), sku="APPLE-US-25")


@pytest.mark.parametrize("cost", ["abc", "-3"])
def test_import_codes_fails_on_a_bad_cost(tmp_path, cost):
    VariantFactory(sku="APPLE-US-25")
    path = code_file(tmp_path, code_lines(2))

    with pytest.raises(CommandError):
        _import(str(path), f"--cost={cost}", sku="APPLE-US-25")

    assert not CodeBatch.objects.exists()


def test_import_codes_refuses_a_variant_that_is_shipped(tmp_path):
    PhysicalVariantFactory(sku="CABLE-1")
    path = code_file(tmp_path, code_lines(2))

    with pytest.raises(CommandError, match="variant_not_coded"):
        _import(str(path), sku="CABLE-1")


def test_import_codes_requires_the_sku(tmp_path):
    path = code_file(tmp_path, code_lines(2))

    with pytest.raises(CommandError):
        call_command("import_codes", str(path))


def test_seed_demo_builds_a_shop_and_adds_nothing_the_second_time():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    counts = (
        Category.objects.count(),
        Product.objects.count(),
        Variant.objects.count(),
        DigitalCode.objects.count(),
        CodeBatch.objects.count(),
    )

    call_command("seed_demo", stdout=StringIO())

    after = (
        Category.objects.count(),
        Product.objects.count(),
        Variant.objects.count(),
        DigitalCode.objects.count(),
        CodeBatch.objects.count(),
    )
    assert after == counts
    kinds = set(Product.objects.values_list("kind", flat=True))
    assert kinds == {"gift_card", "subscription", "physical"}
    assert Variant.objects.get(sku="SPOTIFY-12M").customer_fields == ["account_email"]
    assert (
        Variant.objects.get(sku="APPLE-US-25").codes.filter(status="available").exists()
    )
    assert not Variant.objects.get(sku="STEAM-US-50").codes.exists()
    assert "added" in out.getvalue()
