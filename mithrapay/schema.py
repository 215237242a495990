"""OpenAPI generation: every operation documents the errors it can answer."""

from drf_spectacular import openapi
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    code = serializers.CharField(
        help_text="Stable, machine-readable; never translated."
    )
    message = serializers.CharField(
        help_text="Human-readable, in the request's language."
    )
    fields = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="Per-field messages, present when input fields were wrong.",
    )

    class Meta:
        ref_name = "Error"


RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before trying again.",
    }
}


class AutoSchema(openapi.AutoSchema):
    """Adds the error answers each operation can give, in the Error shape.

    A view's own ``@extend_schema(responses=…)`` entries win over these.
    """

    def _error_statuses(self) -> list[str]:
        statuses = []
        has_body = self.method in ("POST", "PUT", "PATCH")
        if has_body or (self.method == "GET" and self._is_list_view()):
            statuses.append("400")
        permissions = self.view.get_permissions()
        if any(not isinstance(p, AllowAny) for p in permissions):
            statuses += ["401", "403"]
        if "{" in self.path or (self.method == "GET" and self._is_paginated()):
            # A paginated list answers 404 for a page past the last one.
            statuses.append("404")
        if has_body:
            statuses.append("415")
        if getattr(self.view, "throttle_scope", None) or getattr(
            self.view, "documents_rate_limit", False
        ):
            statuses.append("429")
        return statuses

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query" and not parameter.get("required"):
                _allow_empty(parameter.get("schema", {}))
        return parameters

    def _is_paginated(self) -> bool:
        return self._is_list_view() and self._get_paginator() is not None

    def get_auth(self):
        """A read that anonymous callers may make also says so (``{}``).

        drf-spectacular knows this for ``AllowAny`` and
        ``IsAuthenticatedOrReadOnly``; a permission class of the project says
        it with ``public_read = True``.
        """
        auths = super().get_auth()
        public = self.method in SAFE_METHODS and all(
            isinstance(p, AllowAny) or getattr(p, "public_read", False)
            for p in self.view.get_permissions()
        )
        if public and {} not in auths:
            auths.append({})
        return auths

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status)
        for status, response in responses.items():
            if status == "429":
                response.setdefault("headers", {}).update(RETRY_AFTER)
        return responses


def _allow_empty(schema: dict) -> None:
    """An optional text parameter given empty (``?kind=``) is read as left
    out, as DRF and django-filter read form input; the schema says so."""
    if schema.get("type") != "string":
        return
    schema.pop("minLength", None)
    if "enum" in schema and "" not in schema["enum"]:
        schema["enum"] = [*schema["enum"], ""]
    if "pattern" in schema:
        schema["pattern"] = f"^$|{schema['pattern']}"


# OpenAPI links: which answer feeds which next request. Clients read them as
# documentation; schemathesis follows them in its stateful phase (an order
# placed, then read, paid and cancelled; an account registered, then used).
ORDER_REF = {"ref": "$response.body#/number"}
LINKS = {
    ("/orders/", "post", "201"): {
        "GetOrder": {
            "operationId": "orders_retrieve",
            "parameters": ORDER_REF,
            "description": "The order just placed, by its number.",
        },
        "PayOrder": {
            "operationId": "orders_pay_create",
            "parameters": ORDER_REF,
            "requestBody": {"gateway": "sandbox"},
            "description": "Pay the order just placed at the sandbox gateway.",
        },
        "CancelOrder": {
            "operationId": "orders_cancel_create",
            "parameters": ORDER_REF,
            "description": "Cancel the order just placed.",
        },
    },
    ("/orders/{ref}/", "get", "200"): {
        "CancelOrder": {
            "operationId": "orders_cancel_create",
            "parameters": ORDER_REF,
            "description": "Cancel the order read.",
        },
    },
    ("/auth/register/", "post", "201"): {
        "Login": {
            "operationId": "auth_login",
            "requestBody": {
                "email": "$request.body#/email",
                "password": "$request.body#/password",
            },
            "description": "Sign in with the email and password just registered.",
        },
    },
}


def add_links(result, generator, request, public):
    """drf-spectacular post-processing hook that adds :data:`LINKS`."""
    paths = result.get("paths", {})
    for (path, method, status), links in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is not None:
            response["links"] = links
    return result
