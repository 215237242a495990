import re
from http import HTTPStatus
from urllib.parse import quote

import pytest
from django import forms
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog import inventory, selectors
from catalog.models import Category, CodeBatch, DigitalCode, Product, Variant
from catalog.tests.factories import (
    CategoryFactory,
    CodeBatchFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
    ProductFactory,
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


def _as_loaded(page) -> dict:
    """What a browser posts back from an admin change page left as it
    loaded: every field of the page's form and its inline forms, and the
    hidden copies of initial values the page rendered."""
    shown = [page.context["adminform"].form]
    for inline in page.context["inline_admin_formsets"]:
        shown += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in shown:
        for bound in form:
            if not isinstance(bound.field, forms.FileField):
                value = bound.value()
                data[bound.html_name] = "" if value is None else value
    hidden = re.findall(
        r'name="(initial-[^"]+)" value="([^"]*)"', page.content.decode()
    )
    data.update(hidden)
    return data


def _an_order_takes(variant, quantity: int) -> None:
    with transaction.atomic():
        inventory.stock_reserve(variant=variant, quantity=quantity)


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


def test_a_post_to_a_codes_page_is_refused_and_writes_nothing(manager_browser):
    code = DigitalCodeFactory(plaintext="PLAIN-CODE-7K3Q")
    url = reverse("admin:catalog_digitalcode_change", args=[code.pk])

    page = manager_browser.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = manager_browser.post(url, {"status": "void", "_save": "Save"})

    assert page.status_code == HTTPStatus.OK
    assert 'name="_save"' not in page.content.decode()
    assert response.status_code == HTTPStatus.FORBIDDEN
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")
    ]
    assert not [sql for sql in writes if "catalog_digitalcode" in sql]
    assert DigitalCode.objects.get(pk=code.pk).status == "available"
    assert not LogEntry.objects.exists()


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


@pytest.mark.parametrize(
    "object_id", ["abc", "1/2", quote("\u00b2"), "-1", "99999999999999999999999"]
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_import_form_of_an_id_that_is_not_one_is_not_found(
    manager_browser, object_id, method
):
    VariantFactory()
    url = f"{reverse('admin:catalog_variant_changelist')}{object_id}/import-codes/"

    response = getattr(manager_browser, method)(url, {"codes": code_lines(2)})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"
    assert not DigitalCode.objects.exists()


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


# --- Saving the catalog through its services -----------------------------------


def _variant_url(variant) -> str:
    return reverse("admin:catalog_variant_change", args=[variant.pk])


def _product_url(product) -> str:
    return reverse("admin:catalog_product_change", args=[product.pk])


def test_a_variant_page_carries_the_stock_it_showed(manager_browser):
    variant = PhysicalVariantFactory(stock=10)

    page = manager_browser.get(_variant_url(variant))

    assert 'name="initial-stock" value="10"' in page.content.decode()


def test_a_variant_saved_without_touching_stock_keeps_what_orders_took_meanwhile(
    manager_browser,
):
    variant = PhysicalVariantFactory(stock=10, name="Cable")
    page = manager_browser.get(_variant_url(variant))
    _an_order_takes(variant, 3)

    response = manager_browser.post(
        _variant_url(variant), {**_as_loaded(page), "name": "Braided cable"}
    )

    assert response.status_code == HTTPStatus.FOUND
    variant.refresh_from_db()
    assert (variant.name, variant.stock) == ("Braided cable", 7)


def test_a_variant_stock_edit_after_orders_moved_it_is_refused_and_saves_nothing(
    manager_browser,
):
    variant = PhysicalVariantFactory(stock=10, name="Cable")
    url = _variant_url(variant)
    page = manager_browser.get(url)
    _an_order_takes(variant, 3)

    response = manager_browser.post(
        url, {**_as_loaded(page), "name": "Braided cable", "stock": "50"}, follow=True
    )

    assert response.redirect_chain == [(url, HTTPStatus.FOUND)]
    assert "changed while you were editing" in response.content.decode()
    variant.refresh_from_db()
    assert (variant.name, variant.stock) == ("Cable", 7)
    assert not LogEntry.objects.exists()


def test_a_variant_stock_edit_is_saved_when_no_order_moved_it(manager_browser):
    variant = PhysicalVariantFactory(stock=10)
    page = manager_browser.get(_variant_url(variant))

    manager_browser.post(_variant_url(variant), {**_as_loaded(page), "stock": "50"})

    variant.refresh_from_db()
    assert variant.stock == 50


def test_a_variant_stock_edit_without_the_count_it_replaces_is_refused(
    manager_browser,
):
    variant = PhysicalVariantFactory(stock=10)
    page = manager_browser.get(_variant_url(variant))
    data = {**_as_loaded(page), "stock": "50"}
    del data["initial-stock"]

    response = manager_browser.post(_variant_url(variant), data)

    assert response.status_code == HTTPStatus.OK
    assert "stock" in response.context["adminform"].form.errors
    variant.refresh_from_db()
    assert variant.stock == 10


def test_an_inline_variant_saved_without_touching_stock_keeps_what_orders_took(
    manager_browser,
):
    variant = PhysicalVariantFactory(stock=10)
    page = manager_browser.get(_product_url(variant.product))
    _an_order_takes(variant, 4)

    response = manager_browser.post(
        _product_url(variant.product),
        {**_as_loaded(page), "name": "Cables", "variants-0-price": "12.00"},
    )

    assert response.status_code == HTTPStatus.FOUND
    variant.refresh_from_db()
    assert (variant.product.name, str(variant.price), variant.stock) == (
        "Cables",
        "12.00",
        6,
    )


def test_an_inline_stock_edit_after_orders_moved_it_refuses_the_whole_page(
    manager_browser,
):
    variant = PhysicalVariantFactory(stock=10, product__name="Cables")
    url = _product_url(variant.product)
    page = manager_browser.get(url)
    _an_order_takes(variant, 4)

    response = manager_browser.post(
        url,
        {**_as_loaded(page), "name": "Renamed", "variants-0-stock": "30"},
        follow=True,
    )

    assert response.redirect_chain == [(url, HTTPStatus.FOUND)]
    assert "changed while you were editing" in response.content.decode()
    variant.refresh_from_db()
    assert (variant.product.name, variant.stock) == ("Cables", 6)


def test_a_variant_added_inline_is_created_by_the_variant_service(manager_browser):
    product = ProductFactory()
    page = manager_browser.get(_product_url(product))
    data = _as_loaded(page)
    new = {
        "sku": "APL-NEW",
        "name": "$10",
        "price": "5.00",
        "fulfilment": "code",
        "face_value": "10.00",
        "face_currency": "usd",
        "region": "us",
        "stock": "0",
        "customer_fields": "[]",
        "max_per_order": "3",
        "low_stock_threshold": "2",
        "position": "0",
        "is_active": "on",
    }
    data.update({f"variants-0-{name}": value for name, value in new.items()})
    data.update({"variants-TOTAL_FORMS": "1", "variants-0-product": str(product.pk)})

    response = manager_browser.post(_product_url(product), data)

    assert response.status_code == HTTPStatus.FOUND
    variant = Variant.objects.get(sku="APL-NEW")
    assert (variant.product, variant.face_currency, variant.region) == (
        product,
        "USD",
        "US",
    )


def test_deactivating_a_products_last_variant_inline_takes_it_off_the_list(
    manager_browser,
):
    variant = VariantFactory()
    url = _product_url(variant.product)
    page = manager_browser.get(url)
    assert page.context["adminform"].form.instance.listed
    data = _as_loaded(page)
    del data["variants-0-is_active"]

    response = manager_browser.post(url, data)

    assert response.status_code == HTTPStatus.FOUND
    assert not Variant.objects.get(pk=variant.pk).is_active
    assert not Product.objects.get(pk=variant.product_id).listed


def test_deleting_a_products_last_variant_inline_takes_it_off_the_list(admin_client):
    variant = VariantFactory()
    url = _product_url(variant.product)
    data = _as_loaded(admin_client.get(url))

    response = admin_client.post(url, {**data, "variants-0-DELETE": "on"})

    assert response.status_code == HTTPStatus.FOUND
    assert not Variant.objects.filter(pk=variant.pk).exists()
    assert not Product.objects.get(pk=variant.product_id).listed


def test_a_product_kind_its_variants_do_not_fit_is_refused_in_the_admin(
    manager_browser,
):
    variant = VariantFactory(product__name="Cards")
    url = _product_url(variant.product)
    page = manager_browser.get(url)

    response = manager_browser.post(
        url, {**_as_loaded(page), "kind": "physical", "name": "Boxes"}
    )

    assert response.status_code == HTTPStatus.OK
    (inline,) = response.context["inline_admin_formsets"]
    assert "fulfilment" in inline.formset.errors[0]
    product = Product.objects.get(pk=variant.product_id)
    assert (product.kind, product.name) == ("gift_card", "Cards")


def test_a_kind_change_with_the_variant_values_it_needs_is_refused_with_a_message(
    manager_browser,
):
    variant = VariantFactory(product__name="Cards")
    url = _product_url(variant.product)
    page = manager_browser.get(url)
    data = {**_as_loaded(page), "kind": "subscription", "variants-0-duration_days": 30}

    response = manager_browser.post(url, data, follow=True)

    assert response.redirect_chain == [(url, HTTPStatus.FOUND)]
    assert "variants do not fit this kind" in response.content.decode()
    variant.refresh_from_db()
    assert (variant.product.kind, variant.duration_days) == ("gift_card", None)


def test_a_product_added_in_the_admin_is_created_and_bumps_the_catalog_version(
    manager_browser, django_capture_on_commit_callbacks
):
    category = CategoryFactory()
    before = selectors.catalog_version()
    data = {
        "kind": "gift_card",
        "brand": "  Steam ",
        "category": category.pk,
        "name": "Steam Wallet",
        "slug": "steam-wallet",
        "is_active": "on",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_browser.post(reverse("admin:catalog_product_add"), data)

    assert response.status_code == HTTPStatus.FOUND
    product = Product.objects.get(slug="steam-wallet")
    assert product.brand == "Steam"
    assert selectors.catalog_version() != before
    assert LogEntry.objects.get().object_id == str(product.pk)


def test_a_category_saved_in_the_admin_goes_through_the_category_service(
    manager_browser,
):
    top = CategoryFactory()
    middle = CategoryFactory(parent=top)
    category = CategoryFactory(name="Low", parent=middle)
    url = reverse("admin:catalog_category_change", args=[category.pk])
    page = manager_browser.get(url)

    renamed = manager_browser.post(url, {**_as_loaded(page), "name": "Lower"})
    added = manager_browser.post(
        reverse("admin:catalog_category_add"),
        {"name": "Consoles", "slug": "consoles", "position": "2", "is_active": "on"},
    )

    assert renamed.status_code == added.status_code == HTTPStatus.FOUND
    assert Category.objects.get(pk=category.pk).name == "Lower"
    assert Category.objects.get(slug="consoles").position == 2


def test_a_category_list_edit_goes_through_the_category_service(manager_browser):
    category = CategoryFactory(position=1)
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(category.pk),
        "form-0-position": "7",
        "form-0-is_active": "on",
        "_save": "Save",
    }

    response = manager_browser.post(reverse("admin:catalog_category_changelist"), data)

    assert response.status_code == HTTPStatus.FOUND
    assert Category.objects.get(pk=category.pk).position == 7
