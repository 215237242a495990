"""OpenAPI generation: every operation documents the errors it can answer."""

from drf_spectacular import openapi
from rest_framework import serializers
from rest_framework.permissions import AllowAny


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
        if "{" in self.path:
            statuses.append("404")
        if has_body:
            statuses.append("415")
        if getattr(self.view, "throttle_scope", None) or getattr(
            self.view, "documents_rate_limit", False
        ):
            statuses.append("429")
        return statuses

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
