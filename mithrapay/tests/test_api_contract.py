"""What the API promises in its schema and keeps: pagination, empty query
values, the OpenAPI links the fuzzing follows, answers that are documented."""

import json
from http import HTTPStatus

import pytest
from django.core.management import call_command
from django.utils.translation import gettext_lazy as _

from catalog.tests.factories import ProductFactory, VariantFactory
from mithrapay.errors import error_body
from orders.models import IdempotencyKey


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(path))
    return json.loads(path.read_text())


@pytest.fixture
def products(db):
    return [VariantFactory(product=ProductFactory()).product for _ in range(3)]


# --- Pagination --------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"page_size": "0"},
        {"page_size": "-5"},
        {"page_size": "false"},
        {"page_size": ""},
        {"page_size": ["5", "6"]},
    ],
)
def test_a_malformed_page_size_is_a_validation_error(api_client, products, query):
    response = api_client.get("/products/", query)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]) == ["page_size"]


@pytest.mark.parametrize("page", ["0", "-1", "two", "", ["1", "2"], "9" * 5000])
def test_a_page_that_names_no_page_is_not_found(api_client, products, page):
    response = api_client.get("/products/", {"page": page})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_a_page_past_the_last_is_not_found(api_client, products):
    response = api_client.get("/products/", {"page": 99})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_a_huge_page_size_is_capped(api_client, products, settings):
    settings.API_MAX_PAGE_SIZE = 2

    response = api_client.get("/products/", {"page_size": "9" * 40})

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == 2


def test_paginated_lists_document_the_page_bounds_and_404(schema):
    operation = schema["paths"]["/orders/"]["get"]

    page = next(p for p in operation["parameters"] if p["name"] == "page")
    assert page["schema"]["minimum"] == 1
    assert "404" in operation["responses"]


# --- Empty query values --------------------------------------------------------


@pytest.mark.parametrize("name", ["kind", "ordering", "category", "min_price"])
def test_an_empty_filter_reads_as_left_out(api_client, products, name):
    response = api_client.get("/products/", {name: ""})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == len(products)


def test_the_schema_allows_empty_optional_query_values(schema):
    parameters = {
        p["name"]: p["schema"]
        for p in schema["paths"]["/products/"]["get"]["parameters"]
    }

    assert "" in parameters["kind"]["enum"]
    assert "minLength" not in parameters["ordering"]
    assert parameters["category"]["pattern"].startswith("^$|")


# --- Security requirements and documented answers ----------------------------


def test_public_catalog_reads_say_no_token_is_needed(schema):
    assert {} in schema["paths"]["/products/"]["get"]["security"]
    assert {} in schema["paths"]["/products/{key}/"]["get"]["security"]
    assert {} not in schema["paths"]["/products/"]["post"]["security"]
    assert {} not in schema["paths"]["/orders/"]["get"]["security"]


def test_a_callback_for_an_unknown_gateway_is_a_documented_400(api_client, db, schema):
    response = api_client.get("/payments/callback/nosuchgateway", {"Status": "OK"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "unknown_gateway"
    documented = schema["paths"]["/payments/callback/{gateway}/"]["get"]["responses"]
    assert "400" in documented


def test_order_inputs_name_the_known_customer_fields(schema):
    line = schema["components"]["schemas"]["OrderLineRequest"]

    inputs = line["properties"]["inputs"]
    assert "account_email" in inputs["properties"]
    assert inputs["additionalProperties"] is False


# --- Links -------------------------------------------------------------------


def test_a_placed_order_links_to_reading_paying_and_cancelling_it(schema):
    links = schema["paths"]["/orders/"]["post"]["responses"]["201"]["links"]

    assert {name: link["operationId"] for name, link in links.items()} == {
        "GetOrder": "orders_retrieve",
        "PayOrder": "orders_pay_create",
        "CancelOrder": "orders_cancel_create",
    }
    operation_ids = {
        operation["operationId"]
        for path in schema["paths"].values()
        for operation in path.values()
    }
    assert {link["operationId"] for link in links.values()} <= operation_ids
    assert links["PayOrder"]["parameters"] == {"ref": "$response.body#/number"}


def test_a_registration_links_to_signing_in(schema):
    links = schema["paths"]["/auth/register/"]["post"]["responses"]["201"]["links"]

    assert links["Login"]["operationId"] == "auth_login"
    assert links["Login"]["requestBody"]["password"] == "$request.body#/password"


# --- Error bodies ------------------------------------------------------------


def test_an_error_body_holds_plain_strings():
    body = error_body("validation_error", _("Bad."), {"items": {"0": [_("No.")]}})

    assert json.loads(json.dumps(body)) == {
        "code": "validation_error",
        "message": "Bad.",
        "fields": {"items": {"0": ["No."]}},
    }


def test_a_refused_order_with_a_key_is_replayed_not_a_server_error(auth_client):
    variant = VariantFactory(is_active=False)
    body = {"items": [{"variant": variant.pk, "quantity": 1}]}

    first = auth_client.post("/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = auth_client.post("/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert first.status_code == HTTPStatus.BAD_REQUEST
    assert first.json()["code"] == "validation_error"
    assert "variant" in first.json()["fields"]["items"]["0"]
    assert again.status_code == HTTPStatus.BAD_REQUEST
    assert again.json() == first.json()
    assert IdempotencyKey.objects.get().completed
