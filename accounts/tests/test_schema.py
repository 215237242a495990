import pytest
from drf_spectacular.generators import SchemaGenerator

OPERATIONS = {
    ("/auth/register/", "post"): {"400", "429", "503"},
    ("/auth/login/", "post"): {"400", "401", "429"},
    ("/auth/request-otp/", "post"): {"400", "429"},
    ("/auth/verify-otp/", "post"): {"400", "403", "429"},
    ("/auth/refresh/", "post"): {"400", "401", "409", "415", "503"},
    ("/auth/logout/", "post"): {"400", "401", "409", "415", "503"},
    ("/auth/reset-password/", "post"): {"400", "429"},
    ("/users/me/", "get"): {"401"},
    ("/users/me/", "patch"): {"400", "401", "429", "503"},
    ("/users/me/password/", "post"): {"400", "401", "429", "503"},
}


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize(("path", "method"), list(OPERATIONS))
def test_schema_documents_each_endpoints_errors(schema, path, method):
    responses = schema["paths"][path][method]["responses"]

    assert OPERATIONS[(path, method)] <= set(responses)
    for status in OPERATIONS[(path, method)]:
        content = responses[status]["content"]["application/json"]["schema"]
        assert content["$ref"] == "#/components/schemas/Error"


@pytest.mark.parametrize(
    ("path", "method"),
    [operation for operation, errors in OPERATIONS.items() if "429" in errors],
)
def test_schema_documents_retry_after_on_each_429(schema, path, method):
    answer = schema["paths"][path][method]["responses"]["429"]

    assert "Retry-After" in answer["headers"]


@pytest.mark.parametrize(
    "component", ["RegisterRequest", "PatchedUserUpdateRequest", "LoginRequest"]
)
def test_schema_gives_each_email_input_the_columns_length(schema, component):
    email = schema["components"]["schemas"][component]["properties"]["email"]

    variants = email.get("oneOf", [email])

    assert {"format": "email", "maxLength": 254}.items() <= variants[0].items()
