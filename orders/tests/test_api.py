from datetime import timedelta
from http import HTTPStatus
from unittest import mock

import pytest
from constance.test import override_config
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from catalog.models import DigitalCode, Variant
from orders import idempotency, services
from orders.models import IdempotencyKey, ItemCode, Order
from orders.tests.factories import VariantFactory, add_codes

pytestmark = pytest.mark.django_db


def body_for(variant, quantity=1, **extra):
    return {"items": [{"variant": variant.pk, "quantity": quantity}], **extra}


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_create_answers_201_with_server_totals_and_expiry(
    customer_client, code_variant
):
    response = customer_client.post(
        "/orders/",
        {
            "items": [{"variant": code_variant.pk, "quantity": 2, "price": "1.00"}],
            "total": "1",
        },
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["status"] == "pending_payment"
    assert body["number"].startswith("MP-")
    assert body["total"] == str(code_variant.price * 2)
    assert body["items"][0]["line_total"] == str(code_variant.price * 2)
    assert body["items"][0]["codes"] == []
    assert body["expires_at"]


def test_create_needs_authentication(api_client, code_variant):
    response = api_client.post("/orders/", body_for(code_variant), format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "not_authenticated"


def test_out_of_stock_is_409_naming_the_variant(customer_client, code_variant):
    response = customer_client.post("/orders", body_for(code_variant, 6), format="json")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "out_of_stock"
    assert str(code_variant.pk) in response.json()["fields"]["items"][0]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    "items",
    [
        [{"variant": 1, "quantity": 0}],
        [{"variant": 1, "quantity": -1}],
        [{"variant": 1, "quantity": 10**9}],
        [{"variant": 1, "quantity": 1.5}],
        [{"variant": 1, "quantity": 2.0}],
        [{"variant": 1, "quantity": "2"}],
        [{"variant": 1, "quantity": True}],
        [{"variant": "1", "quantity": 1}],
        [{"variant": 1}],
        [{"variant": 1, "quantity": 1}, {"variant": 1, "quantity": 2}],
        [],
        "not a list",
        [{"variant": 1, "quantity": 1}] * 21,
        [{"variant": 1, "quantity": 1, "inputs": "x"}],
    ],
)
def test_malformed_lines_are_400_and_write_nothing(
    customer_client, code_variant, items
):
    items = [
        {**entry, "variant": code_variant.pk} if entry.get("variant") == 1 else entry
        for entry in (items if isinstance(items, list) else [])
    ] or items

    response = customer_client.post("/orders/", {"items": items}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "validation_error"
    assert "items" in response.json()["fields"]
    assert Order.objects.count() == 0
    assert DigitalCode.objects.filter(status="reserved").count() == 0


def test_unknown_variant_is_400(customer_client):
    response = customer_client.post(
        "/orders/", {"items": [{"variant": 999999, "quantity": 1}]}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "variant" in response.json()["fields"]["items"]["0"]


@pytest.mark.parametrize(
    "address",
    [
        {"name": "x"},
        {
            "name": "x",
            "phone": "123",
            "line1": "a",
            "city": "b",
            "postal_code": "12345",
        },
        "Tehran",
    ],
)
def test_malformed_shipping_address_is_400(customer_client, address):
    physical = VariantFactory(fulfilment=Variant.Fulfilment.SHIPMENT, stock=3)

    response = customer_client.post(
        "/orders/", body_for(physical, shipping_address=address), format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "shipping_address" in response.json()["fields"]
    physical.refresh_from_db()
    assert physical.stock == 3


def test_idempotent_replay_returns_the_first_answer(customer_client, code_variant):
    headers = {"HTTP_IDEMPOTENCY_KEY": "checkout-1"}

    first = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )
    second = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )

    assert first.status_code == second.status_code == HTTPStatus.CREATED
    assert first.json() == second.json()
    assert Order.objects.count() == 1
    assert DigitalCode.objects.filter(status="reserved").count() == 1


def test_an_order_and_its_stored_answer_commit_together(customer_client, code_variant):
    """Storing the answer fails: the order it describes is not placed either,
    and the key is free for a retry."""
    headers = {"HTTP_IDEMPOTENCY_KEY": "all-or-nothing"}

    with mock.patch.object(
        idempotency, "complete", side_effect=OperationalError(2013, "lost")
    ):
        failed = customer_client.post(
            "/orders/", body_for(code_variant), format="json", **headers
        )
    retried = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )

    assert failed.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert retried.status_code == HTTPStatus.CREATED
    assert Order.objects.count() == 1
    assert DigitalCode.objects.filter(status="reserved").count() == 1
    assert IdempotencyKey.objects.get().completed


def test_idempotent_replay_of_an_error_returns_the_same_error(
    customer_client, code_variant
):
    headers = {"HTTP_IDEMPOTENCY_KEY": "too-many"}

    first = customer_client.post(
        "/orders/", body_for(code_variant, 9), format="json", **headers
    )
    add_codes(code_variant, 10)
    second = customer_client.post(
        "/orders/", body_for(code_variant, 9), format="json", **headers
    )

    assert first.status_code == second.status_code == HTTPStatus.CONFLICT
    assert first.json() == second.json()
    assert Order.objects.count() == 0


def test_same_key_with_another_body_is_422(customer_client, code_variant):
    headers = {"HTTP_IDEMPOTENCY_KEY": "checkout-2"}
    customer_client.post("/orders/", body_for(code_variant), format="json", **headers)

    response = customer_client.post(
        "/orders/", body_for(code_variant, 2), format="json", **headers
    )

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_duplicate_while_the_first_is_running_is_409(
    customer_client, user, code_variant
):
    from orders import idempotency

    idempotency.claim(user=user, key="busy", payload=body_for(code_variant))

    response = customer_client.post(
        "/orders/", body_for(code_variant), format="json", HTTP_IDEMPOTENCY_KEY="busy"
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "request_in_progress"
    assert Order.objects.count() == 0


def test_keys_belong_to_their_user(customer_client, code_variant):
    other = client_for(UserFactory())
    headers = {"HTTP_IDEMPOTENCY_KEY": "shared-name"}

    mine = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )
    theirs = other.post("/orders/", body_for(code_variant), format="json", **headers)

    assert mine.status_code == theirs.status_code == HTTPStatus.CREATED
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize(("first", "second"), [("Key-A", "key-a"), ("café", "cafe")])
def test_keys_differing_in_case_or_accent_are_different_keys(
    customer_client, code_variant, first, second
):
    """MariaDB's utf8mb4_unicode_ci would call these equal."""
    one = customer_client.post(
        "/orders/", body_for(code_variant), format="json", HTTP_IDEMPOTENCY_KEY=first
    )

    other = customer_client.post(
        "/orders/", body_for(code_variant), format="json", HTTP_IDEMPOTENCY_KEY=second
    )

    assert one.status_code == other.status_code == HTTPStatus.CREATED
    assert one.json()["id"] != other.json()["id"]
    assert Order.objects.count() == 2
    assert IdempotencyKey.objects.count() == 2


def _claim_left_by_a_dead_request(user, variant, *, age_seconds):
    idempotency.claim(user=user, key="crashed", payload=body_for(variant))
    IdempotencyKey.objects.update(
        created_at=timezone.now() - timedelta(seconds=age_seconds)
    )


def test_a_claim_younger_than_the_timeout_is_still_in_progress(
    customer_client, user, code_variant, settings
):
    settings.IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 120
    _claim_left_by_a_dead_request(user, code_variant, age_seconds=100)

    response = customer_client.post(
        "/orders/",
        body_for(code_variant),
        format="json",
        HTTP_IDEMPOTENCY_KEY="crashed",
    )

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "request_in_progress"
    assert Order.objects.count() == 0


def test_a_claim_never_completed_within_the_timeout_is_taken_over(
    customer_client, user, code_variant, settings
):
    settings.IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 120
    _claim_left_by_a_dead_request(user, code_variant, age_seconds=121)
    headers = {"HTTP_IDEMPOTENCY_KEY": "crashed"}

    retry = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )
    again = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )

    assert retry.status_code == again.status_code == HTTPStatus.CREATED
    assert retry.json() == again.json()
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.get().completed


def test_a_claim_whose_request_placed_its_order_answers_with_that_order(
    customer_client, user, code_variant, settings
):
    """The first request committed its order, then died before storing its
    answer: the repeat past the timeout gets that order, not a second."""
    settings.IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 120
    body = body_for(code_variant)
    record = idempotency.claim(user=user, key="died-late", payload=body)
    placed = services.order_create(
        user=user, lines=body["items"], idempotency_key=record
    )
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=121))

    retry = customer_client.post(
        "/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="died-late"
    )
    again = customer_client.post(
        "/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="died-late"
    )

    assert retry.status_code == again.status_code == HTTPStatus.CREATED
    assert retry.json()["number"] == placed.number
    assert again.json() == retry.json()
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.get().completed


def test_the_claim_timeout_defaults_to_two_minutes(customer_client, user, code_variant):
    _claim_left_by_a_dead_request(user, code_variant, age_seconds=110)
    headers = {"HTTP_IDEMPOTENCY_KEY": "crashed"}
    waiting = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(seconds=121))

    taken_over = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )

    assert waiting.status_code == HTTPStatus.CONFLICT
    assert taken_over.status_code == HTTPStatus.CREATED


def test_an_expired_key_is_claimed_afresh(customer_client, code_variant):
    headers = {"HTTP_IDEMPOTENCY_KEY": "old"}
    customer_client.post("/orders/", body_for(code_variant), format="json", **headers)
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = customer_client.post(
        "/orders/", body_for(code_variant), format="json", **headers
    )

    assert response.status_code == HTTPStatus.CREATED
    assert Order.objects.count() == 2


@pytest.mark.parametrize("key", ["k" * 256, "bad\nkey"])
def test_malformed_idempotency_key_is_400(customer_client, code_variant, key):
    response = customer_client.post(
        "/orders/", body_for(code_variant), format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "idempotency_key_invalid"
    assert Order.objects.count() == 0


def test_too_many_unpaid_orders_is_409(customer_client, code_variant, settings):
    settings.MAX_PENDING_ORDERS = 1
    customer_client.post("/orders/", body_for(code_variant), format="json")

    response = customer_client.post("/orders/", body_for(code_variant), format="json")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["code"] == "too_many_pending_orders"


def test_order_creation_is_throttled_per_customer(
    customer_client, code_variant, settings
):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "order_create": "2/hour"}
    settings.MAX_PENDING_ORDERS = 10

    statuses = [
        customer_client.post(
            "/orders/", body_for(code_variant), format="json"
        ).status_code
        for _ in range(3)
    ]

    assert statuses == [201, 201, 429]
    listed = customer_client.get("/orders/")
    assert listed.status_code == HTTPStatus.OK


def test_list_shows_only_own_orders_newest_first(customer_client, user, code_variant):
    first = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )
    second = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )
    services.order_create(
        user=UserFactory(), lines=[{"variant": code_variant.pk, "quantity": 1}]
    )

    response = customer_client.get("/orders/")

    assert response.status_code == HTTPStatus.OK
    assert [o["id"] for o in response.json()["results"]] == [second.pk, first.pk]
    assert response.json()["count"] == 2


def test_list_filters_by_status(customer_client, user, code_variant):
    kept = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )
    gone = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )
    services.order_cancel(order=gone, user=user)

    response = customer_client.get("/orders/", {"status": "cancelled"})
    invalid = customer_client.get("/orders/", {"status": "lost"})

    assert [o["id"] for o in response.json()["results"]] == [gone.pk]
    assert kept.pk not in [o["id"] for o in response.json()["results"]]
    assert invalid.status_code == HTTPStatus.BAD_REQUEST
    assert invalid.json()["code"] == "validation_error"


def test_list_costs_a_fixed_number_of_queries(
    customer_client, user, code_variant, django_assert_max_num_queries
):
    for _ in range(3):
        services.order_create(
            user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
        )

    with django_assert_max_num_queries(3):
        customer_client.get("/orders/")


def test_detail_by_id_and_by_number(customer_client, user, code_variant):
    order = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )

    by_id = customer_client.get(f"/orders/{order.pk}")
    by_number = customer_client.get(f"/orders/{order.number.lower()}/")

    assert by_id.status_code == by_number.status_code == HTTPStatus.OK
    assert by_id.json() == by_number.json()


@pytest.mark.parametrize(("method", "suffix"), [("get", ""), ("post", "/cancel")])
def test_another_customers_order_is_404(code_variant, method, suffix):
    owner = UserFactory()
    order = services.order_create(
        user=owner, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )
    stranger = client_for(UserFactory())

    response = getattr(stranger, method)(f"/orders/{order.pk}{suffix}")
    by_number = getattr(stranger, method)(f"/orders/{order.number}{suffix}")

    assert response.status_code == by_number.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


@pytest.mark.parametrize(
    "ref", ["99999999", "MP-NOPE", "9" * 40, "x" * 300, "\u00b2", "\u0663"]
)
@pytest.mark.parametrize("suffix", ["", "/cancel", "/pay"])
def test_unknown_order_is_404(customer_client, ref, suffix):
    """Superscript and Arabic-Indic digits are no order id either."""
    method = customer_client.get if not suffix else customer_client.post
    response = method(f"/orders/{ref}{suffix}", {"gateway": "sandbox"}, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_cancel_endpoint_releases_and_answers_the_order(
    customer_client, user, code_variant
):
    order = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 2}]
    )

    response = customer_client.post(f"/orders/{order.pk}/cancel")
    again = customer_client.post(f"/orders/{order.pk}/cancel/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "cancelled"
    assert again.status_code == HTTPStatus.CONFLICT
    assert again.json()["code"] == "invalid_transition"
    assert DigitalCode.objects.filter(status="available").count() == 5


def test_maintenance_pauses_checkout_and_cancel_but_not_reads(
    customer_client, user, code_variant
):
    order = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 1}]
    )

    with override_config(MAINTENANCE_MODE=True):
        create = customer_client.post("/orders/", body_for(code_variant), format="json")
        cancel = customer_client.post(f"/orders/{order.pk}/cancel")
        read = customer_client.get(f"/orders/{order.pk}")

    assert create.status_code == cancel.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert create.json()["code"] == cancel.json()["code"] == "maintenance"
    assert read.status_code == HTTPStatus.OK
    assert Order.objects.count() == 1


def _paid(order):
    """A paid order whose codes are sold, as fulfilment leaves it."""
    code_ids = list(
        ItemCode.objects.filter(item__order=order).values_list("code_id", flat=True)
    )
    DigitalCode.objects.filter(id__in=code_ids).update(status="sold")
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)


def test_owner_sees_codes_only_once_paid_and_first_view_is_recorded(
    customer_client, user, code_variant
):
    order = services.order_create(
        user=user, lines=[{"variant": code_variant.pk, "quantity": 2}]
    )
    unpaid = customer_client.get(f"/orders/{order.pk}")
    _paid(order)

    paid = customer_client.get(f"/orders/{order.pk}")
    listed = customer_client.get("/orders/")

    assert unpaid.json()["items"][0]["codes"] == []
    codes = paid.json()["items"][0]["codes"]
    assert len(codes) == 2
    assert all(len(c["code"]) == 16 and c["pin"] == "1234" for c in codes)
    assert listed.json()["results"][0]["items"][0]["codes"] == []
    assert not ItemCode.objects.filter(revealed_at__isnull=True).exists()


def test_subscriptions_list_own_with_days_left(customer_client, user):
    from orders.models import Subscription
    from orders.tests.factories import ProductFactory

    product = ProductFactory(kind="subscription", brand="Spotify")
    now = timezone.now()
    Subscription.objects.create(
        user=user,
        product=product,
        service="Spotify",
        plan="Premium 12 months",
        starts_at=now,
        ends_at=now + timedelta(days=10, hours=1),
    )
    Subscription.objects.create(
        user=UserFactory(),
        product=product,
        service="Spotify",
        plan="Premium",
        starts_at=now,
        ends_at=now + timedelta(days=3),
    )

    response = customer_client.get("/subscriptions/")

    assert response.status_code == HTTPStatus.OK
    results = response.json()["results"]
    assert len(results) == 1
    assert results[0]["days_left"] == 11
    assert results[0]["status"] == "active"
