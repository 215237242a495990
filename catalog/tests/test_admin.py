from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalog.models import CodeBatch, DigitalCode
from catalog.tests.factories import (
    CodeBatchFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
    VariantFactory,
    code_lines,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_browser(catalog_manager):
    client = Client()
    client.force_login(catalog_manager)
    return client


@pytest.fixture
def support_browser(support_user):
    client = Client()
    client.force_login(support_user)
    return client


def _import_url(variant) -> str:
    return reverse("admin:catalog_variant_import_codes", args=[variant.pk])


@pytest.mark.parametrize(
    "name", ["product", "variant", "digitalcode", "codebatch", "category"]
)
def test_catalog_manager_opens_every_catalog_list(manager_browser, name):
    DigitalCodeFactory(batch=CodeBatchFactory())

    response = manager_browser.get(reverse(f"admin:catalog_{name}_changelist"))

    assert response.status_code == HTTPStatus.OK


def test_codes_are_masked_in_the_list_and_the_page(admin_client):
    code = DigitalCodeFactory(plaintext="PLAIN-CODE-7K3Q")

    listing = admin_client.get(reverse("admin:catalog_digitalcode_changelist"))
    page = admin_client.get(reverse("admin:catalog_digitalcode_change", args=[code.pk]))

    for response in (listing, page):
        html = response.content.decode()
        assert "••••7K3Q" in html
        assert "PLAIN-CODE" not in html
        assert code.code_encrypted not in html


def test_a_code_cannot_be_edited_added_or_deleted_in_the_admin(admin_client):
    code = DigitalCodeFactory(plaintext="PLAIN-CODE-7K3Q")
    url = reverse("admin:catalog_digitalcode_change", args=[code.pk])

    admin_client.post(url, {"status": "sold", "last4": "0000", "code_encrypted": "x"})
    add = admin_client.get(reverse("admin:catalog_digitalcode_add"))
    delete = admin_client.get(
        reverse("admin:catalog_digitalcode_delete", args=[code.pk])
    )

    stored = DigitalCode.objects.get(pk=code.pk)
    assert (stored.status, stored.last4, stored.code_encrypted) == (
        "available",
        "7K3Q",
        code.code_encrypted,
    )
    assert add.status_code == delete.status_code == HTTPStatus.FORBIDDEN


def test_variant_list_shows_pool_counts_per_status_in_fixed_queries(
    admin_client, django_assert_max_num_queries
):
    variant = VariantFactory(sku="COUNTED")
    for status, count in (("available", 3), ("reserved", 2), ("sold", 4), ("void", 1)):
        DigitalCodeFactory.create_batch(count, variant=variant, status=status)
    for _ in range(15):
        DigitalCodeFactory(variant=VariantFactory())
    url = reverse("admin:catalog_variant_changelist")
    admin_client.get(url)

    with django_assert_max_num_queries(12):
        response = admin_client.get(url)

    row = next(r for r in response.context["cl"].result_list if r.sku == "COUNTED")
    assert (
        row.codes_available,
        row.codes_reserved,
        row.codes_sold,
        row.codes_void,
    ) == (
        3,
        2,
        4,
        1,
    )


def test_import_form_takes_a_file_and_reports_the_summary(
    manager_browser, catalog_manager
):
    variant = VariantFactory(sku="APL-25")
    DigitalCodeFactory(variant=variant, plaintext="CARD-000000-XQ")
    upload = SimpleUploadedFile("april.csv", code_lines(4).encode(), "text/csv")

    response = manager_browser.post(
        _import_url(variant),
        {"file": upload, "supplier": "Acme", "unit_cost": "3.10"},
        follow=True,
    )

    batch = CodeBatch.objects.get()
    assert (batch.imported_count, batch.rejected_count) == (3, 1)
    assert (batch.source_name, batch.imported_by) == ("april.csv", catalog_manager)
    assert "3 of 4 codes imported into APL-25" in response.content.decode()


def test_import_form_takes_pasted_codes(manager_browser):
    variant = VariantFactory()

    manager_browser.post(_import_url(variant), {"codes": code_lines(2)})

    assert variant.codes.count() == 2


def test_import_form_shows_bad_rows_and_writes_nothing(manager_browser):
    variant = VariantFactory()

    response = manager_browser.post(
        _import_url(variant), {"codes": "CARD-000001-XQ\nno\n"}
    )

    assert response.status_code == HTTPStatus.OK
    assert "Row 2:" in response.content.decode()
    assert not CodeBatch.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"codes": "CARD-000001-XQ", "file": "both"},
        {"codes": "X-1", "unit_cost": "-1"},
    ],
)
def test_import_form_refuses_incomplete_input(manager_browser, data):
    variant = VariantFactory()
    if data.get("file") == "both":
        data = {**data, "file": SimpleUploadedFile("a.txt", b"CARD-000002-XQ")}

    response = manager_browser.post(_import_url(variant), data)

    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors
    assert not CodeBatch.objects.exists()


def test_import_form_is_refused_to_support(support_browser):
    variant = VariantFactory()

    response = support_browser.post(_import_url(variant), {"codes": code_lines(2)})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not variant.codes.exists()


def test_import_form_is_not_found_for_a_shipped_variant(manager_browser):
    variant = PhysicalVariantFactory()

    response = manager_browser.get(_import_url(variant))

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_voiding_a_batch_from_the_admin_voids_its_available_codes(manager_browser):
    batch = CodeBatchFactory()
    available = DigitalCodeFactory(variant=batch.variant, batch=batch)
    sold = DigitalCodeFactory(variant=batch.variant, batch=batch, status="sold")

    manager_browser.post(
        reverse("admin:catalog_codebatch_changelist"),
        {"action": "void_batches", "_selected_action": [batch.pk], "confirm": "yes"},
    )

    assert DigitalCode.objects.get(pk=available.pk).status == "void"
    assert DigitalCode.objects.get(pk=sold.pk).status == "sold"


def test_voiding_codes_needs_the_change_permission(support_browser, manager_browser):
    code = DigitalCodeFactory()
    url = reverse("admin:catalog_digitalcode_changelist")
    body = {"action": "void_codes", "_selected_action": [code.pk]}

    support_browser.post(url, body)
    after_support = DigitalCode.objects.get(pk=code.pk).status
    manager_browser.post(url, body)

    assert after_support == "available"
    assert DigitalCode.objects.get(pk=code.pk).status == "void"


def test_a_product_saved_in_the_admin_checks_the_variant_kind(admin_client):
    variant = PhysicalVariantFactory()
    product = variant.product
    url = reverse("admin:catalog_variant_change", args=[variant.pk])

    response = admin_client.post(
        url,
        {
            "product": product.pk,
            "sku": variant.sku,
            "name": variant.name,
            "price": "10.00",
            "fulfilment": "code",
            "stock": "1",
            "customer_fields": "[]",
            "max_per_order": "1",
            "low_stock_threshold": "1",
            "position": "0",
        },
    )

    assert response.status_code == HTTPStatus.OK
    assert "fulfilment" in response.context["adminform"].form.errors
    variant.refresh_from_db()
    assert variant.fulfilment == "shipment"


def test_only_finance_holds_the_reveal_permission(catalog_manager, support_user):
    reveal = Permission.objects.get(codename="reveal_code")

    assert not catalog_manager.has_perm("catalog.reveal_code")
    assert not support_user.has_perm("catalog.reveal_code")
    assert list(reveal.group_set.values_list("name", flat=True)) == ["Finance"]


def test_catalog_manager_holds_the_catalog_permissions(catalog_manager, support_user):
    for name in (
        "add_product",
        "change_variant",
        "add_codebatch",
        "change_digitalcode",
        "view_category",
    ):
        assert catalog_manager.has_perm(f"catalog.{name}")
    assert support_user.has_perm("catalog.view_digitalcode")
    assert not support_user.has_perm("catalog.change_variant")
    assert not support_user.has_perm("catalog.add_codebatch")
