from datetime import timedelta
from http import HTTPStatus

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from catalog import errors, selectors, services, tasks
from catalog.models import CodeReveal, DigitalCode, Variant
from catalog.tests.factories import (
    CategoryFactory,
    CodeBatchFactory,
    DigitalCodeFactory,
    PhysicalVariantFactory,
    ProductFactory,
    SubscriptionVariantFactory,
    VariantFactory,
)
from mithrapay.tests.backoffice import browser_for, roles_ready, staff_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(db):
    roles_ready()
    return staff_in(roles.FINANCE)


@pytest.fixture
def finance_browser(finance):
    return browser_for(finance)


def reveal_url(code) -> str:
    return reverse("admin:catalog_digitalcode_reveal", args=[code.pk])


# --- Revealing a code -----------------------------------------------------------


def test_a_reveal_shows_the_code_and_writes_an_audit_row(finance, finance_browser):
    code = DigitalCodeFactory(plaintext="SECRET-CODE-9Z8Y")

    form = finance_browser.get(reveal_url(code))
    response = finance_browser.post(
        reveal_url(code),
        {"reason": "Customer says the code was already used"},
        REMOTE_ADDR="10.1.2.3",
    )

    assert form.status_code == HTTPStatus.OK
    assert "SECRET-CODE" not in form.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "SECRET-CODE-9Z8Y" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    reveal = CodeReveal.objects.get()
    assert (reveal.code, reveal.staff, reveal.ip) == (code, finance, "10.1.2.3")
    assert reveal.reason == "Customer says the code was already used"


def test_a_reveal_without_a_reason_shows_nothing_and_records_nothing(
    finance_browser,
):
    code = DigitalCodeFactory(plaintext="SECRET-CODE-9Z8Y")

    response = finance_browser.post(reveal_url(code), {"reason": "   "})

    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].errors["reason"]
    assert "SECRET-CODE" not in response.content.decode()
    assert not CodeReveal.objects.exists()


def test_reveals_past_the_hourly_limit_get_429_and_no_audit_row(
    finance_browser, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "code_reveal": "2/hour"}
    code = DigitalCodeFactory(plaintext="SECRET-CODE-9Z8Y")

    answers = [
        finance_browser.post(reveal_url(code), {"reason": "dispute"}) for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == "throttled"
    assert int(answers[2]["Retry-After"]) > 0
    assert "SECRET-CODE" not in answers[2].content.decode()
    assert CodeReveal.objects.count() == 2


def test_the_reveal_limit_counts_per_member_of_staff(finance_browser, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "code_reveal": "1/hour"}
    code = DigitalCodeFactory()
    colleague = browser_for(staff_in(roles.FINANCE))
    finance_browser.post(reveal_url(code), {"reason": "dispute"})

    response = colleague.post(reveal_url(code), {"reason": "dispute"})

    assert response.status_code == HTTPStatus.OK
    assert CodeReveal.objects.count() == 2


@pytest.mark.parametrize("role", [roles.SUPPORT, roles.CATALOG_MANAGER, None])
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_the_reveal_permission_get_403_on_any_method(role, method):
    roles_ready()
    browser = browser_for(staff_in(role))
    code = DigitalCodeFactory(plaintext="SECRET-CODE-9Z8Y")

    response = getattr(browser, method)(reveal_url(code), {"reason": "curious"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "permission_denied"
    assert not CodeReveal.objects.exists()


def test_a_customer_session_is_sent_to_the_login_page(user):
    code = DigitalCodeFactory()

    response = browser_for(user).get(reveal_url(code))

    assert response.status_code == HTTPStatus.FOUND
    assert "/admin/login/" in response["Location"]


def test_a_superuser_sees_a_full_code_only_through_the_reveal_page(admin_client):
    code = DigitalCodeFactory(plaintext="SECRET-CODE-9Z8Y")
    pages = [
        reverse("admin:catalog_digitalcode_changelist"),
        reverse("admin:catalog_digitalcode_change", args=[code.pk]),
        reverse("admin:catalog_codereveal_changelist"),
        reveal_url(code),
    ]

    shown = [admin_client.get(page) for page in pages]
    admin_client.post(reveal_url(code), {"reason": "audit check"})
    audit = admin_client.get(reverse("admin:catalog_codereveal_changelist"))

    for response in [*shown, audit]:
        assert response.status_code == HTTPStatus.OK
        assert "SECRET-CODE" not in response.content.decode()
    assert reveal_url(code) in shown[0].content.decode()
    assert "audit check" in audit.content.decode()


def _damage(code) -> None:
    token = code.code_encrypted
    middle = len(token) // 2
    flipped = "B" if token[middle] == "A" else "A"
    DigitalCode.objects.filter(pk=code.pk).update(
        code_encrypted=token[:middle] + flipped + token[middle + 1 :]
    )


@pytest.mark.parametrize("fault", ["damaged token", "wrong key"])
def test_a_code_that_does_not_decrypt_shows_an_error_and_records_no_reveal(
    finance_browser, settings, fault
):
    code = DigitalCodeFactory(plaintext="SECRET-CODE-9Z8Y")
    if fault == "damaged token":
        _damage(code)
    else:
        settings.CODE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    response = finance_browser.post(reveal_url(code), {"reason": "dispute"})

    assert response.status_code == HTTPStatus.OK
    assert response.context["secrets"] is None
    assert "cannot be decrypted with the configured keys" in response.content.decode()
    assert "SECRET-CODE" not in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert not CodeReveal.objects.exists()


def test_the_reveal_service_raises_for_a_code_that_does_not_decrypt(finance):
    code = DigitalCodeFactory()
    _damage(code)
    code.refresh_from_db()

    with pytest.raises(errors.CodeUnreadable) as caught:
        services.code_reveal(code=code, staff=finance, reason="dispute", ip=None)

    assert caught.value.code == "code_unreadable"
    assert not CodeReveal.objects.exists()


def test_the_reveal_service_refuses_staff_without_the_permission():
    roles_ready()
    support = staff_in(roles.SUPPORT)
    code = DigitalCodeFactory()

    with pytest.raises(services.RevealNotAllowed):
        services.code_reveal(code=code, staff=support, reason="x", ip=None)

    assert not CodeReveal.objects.exists()


# --- Voiding a batch -------------------------------------------------------------


def test_voiding_a_batch_asks_first_with_the_count_then_voids_only_its_unsold_codes():
    roles_ready()
    browser = browser_for(staff_in(roles.CATALOG_MANAGER))
    leaked = CodeBatchFactory()
    available = DigitalCodeFactory.create_batch(3, variant=leaked.variant, batch=leaked)
    reserved = DigitalCodeFactory(
        variant=leaked.variant, batch=leaked, status="reserved"
    )
    sold = DigitalCodeFactory(variant=leaked.variant, batch=leaked, status="sold")
    other_batch = DigitalCodeFactory(
        variant=leaked.variant, batch=CodeBatchFactory(variant=leaked.variant)
    )
    loose = DigitalCodeFactory(variant=leaked.variant)
    url = reverse("admin:catalog_codebatch_changelist")
    body = {"action": "void_batches", "_selected_action": [leaked.pk]}

    question = browser.post(url, body)
    untouched = set(DigitalCode.objects.values_list("status", flat=True))
    answer = browser.post(url, {**body, "confirm": "yes"}, follow=True)

    assert question.status_code == HTTPStatus.OK
    assert question.context["total"] == 4
    assert "4 unsold codes (available, or reserved" in question.content.decode()
    assert untouched == {"available", "reserved", "sold"}
    statuses = dict(DigitalCode.objects.values_list("id", "status"))
    assert {statuses[code.pk] for code in available} == {"void"}
    assert statuses[reserved.pk] == "void"
    assert statuses[sold.pk] == "sold"
    assert statuses[other_batch.pk] == statuses[loose.pk] == "available"
    assert "4 codes voided." in answer.content.decode()


def test_support_cannot_void_a_batch():
    roles_ready()
    browser = browser_for(staff_in(roles.SUPPORT))
    batch = CodeBatchFactory()
    code = DigitalCodeFactory(variant=batch.variant, batch=batch)

    browser.post(
        reverse("admin:catalog_codebatch_changelist"),
        {"action": "void_batches", "_selected_action": [batch.pk], "confirm": "yes"},
    )

    assert DigitalCode.objects.get(pk=code.pk).status == "available"


# --- Low stock ---------------------------------------------------------------------


def test_low_stock_lists_code_and_shipped_variants_under_their_threshold():
    short_codes = VariantFactory(sku="FEW-CODES", low_stock_threshold=3)
    DigitalCodeFactory.create_batch(2, variant=short_codes)
    DigitalCodeFactory.create_batch(4, variant=short_codes, status="sold")
    enough_codes = VariantFactory(sku="MANY-CODES", low_stock_threshold=2)
    DigitalCodeFactory.create_batch(2, variant=enough_codes)
    VariantFactory(sku="EMPTY", low_stock_threshold=1)
    PhysicalVariantFactory(sku="FEW-CABLES", stock=1, low_stock_threshold=5)
    PhysicalVariantFactory(sku="MANY-CABLES", stock=5, low_stock_threshold=5)
    SubscriptionVariantFactory(sku="MANUAL", low_stock_threshold=5)
    VariantFactory(sku="INACTIVE", is_active=False)

    low = [(v.sku, v.stock_level) for v in selectors.variants_low_stock()]

    assert low == [("EMPTY", 0), ("FEW-CABLES", 1), ("FEW-CODES", 2)]


def test_low_stock_alert_emails_catalog_managers_once_per_fall_and_rearms():
    roles_ready()
    staff_in(roles.CATALOG_MANAGER, email="stock@example.com")
    staff_in(roles.SUPPORT, email="support@example.com")
    variant = PhysicalVariantFactory(sku="CABLE", stock=10, low_stock_threshold=5)
    VariantFactory(sku="STEADY", low_stock_threshold=0)

    quiet = tasks.send_low_stock_alerts()
    Variant.objects.filter(pk=variant.pk).update(stock=4)
    first = tasks.send_low_stock_alerts()
    again = tasks.send_low_stock_alerts()
    Variant.objects.filter(pk=variant.pk).update(stock=5)
    rearmed = tasks.send_low_stock_alerts()
    Variant.objects.filter(pk=variant.pk).update(stock=2)
    second_fall = tasks.send_low_stock_alerts()

    assert (quiet, first, again, rearmed, second_fall) == (0, 1, 0, 0, 1)
    assert len(mail.outbox) == 2
    assert mail.outbox[0].to == ["stock@example.com"]
    assert "CABLE" in mail.outbox[0].body
    assert "4 left" in mail.outbox[0].body
    assert "2 left" in mail.outbox[1].body


def test_low_stock_claim_marks_each_fall_once_even_when_run_again():
    variant = VariantFactory(low_stock_threshold=2)
    before = timezone.now() - timedelta(seconds=1)

    first = services.low_stock_claim()
    second = services.low_stock_claim()

    variant.refresh_from_db()
    assert [row.variant_id for row in first] == [variant.pk]
    assert second == []
    assert variant.low_stock_alerted_at >= before


def test_low_stock_alerts_run_on_the_beat_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["send-low-stock-alerts"]

    assert schedule["task"] == tasks.send_low_stock_alerts.name


# --- Changelists: no query per row --------------------------------------------------


@pytest.fixture
def fifty_of_everything(db):
    category = CategoryFactory()
    for n in range(50):
        product = ProductFactory(category=CategoryFactory(parent=category))
        variant = VariantFactory(product=product)
        batch = CodeBatchFactory(variant=variant)
        code = DigitalCodeFactory(variant=variant, batch=batch)
        CodeReveal.objects.create(
            code=code, staff=staff_in(None), reason=f"check {n}", ip="127.0.0.1"
        )


@pytest.mark.parametrize(
    "name",
    ["category", "product", "variant", "codebatch", "digitalcode", "codereveal"],
)
def test_catalog_changelists_of_fifty_rows_have_no_query_per_row(
    name, fifty_of_everything, admin_client, django_assert_max_num_queries
):
    url = reverse(f"admin:catalog_{name}_changelist")

    with django_assert_max_num_queries(14):
        response = admin_client.get(url)

    assert response.status_code == HTTPStatus.OK
    assert len(response.context["cl"].result_list) >= 50


def test_seed_demo_leaves_the_low_stock_list_readable(admin_client):
    call_command("seed_demo", verbosity=0, stdout=None)

    response = admin_client.get(reverse("admin:index"))

    assert response.status_code == HTTPStatus.OK
    assert "STEAM-US-50" in response.content.decode()
