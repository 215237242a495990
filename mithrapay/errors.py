"""The API's one error shape and the exceptions that produce it.

Every error answer, from a DRF view, a plain Django view or an unknown path,
is a JSON object::

    {"code": "out_of_stock", "message": "…", "fields": {"quantity": ["…"]}}

``code`` is stable and never translated; ``message`` follows the request's
language; ``fields`` appears only when input fields were wrong.
"""

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.encoding import force_str
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    """A domain rule refused the request.

    Subclasses set ``status``, ``code`` and ``default_message``; an instance
    may override the code and message, and carry per-field messages.
    """

    status: int = status.HTTP_400_BAD_REQUEST
    code: str = "invalid"
    default_message = _("The request could not be completed.")

    def __init__(self, message=None, *, code=None, fields=None, status=None):
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = fields or {}
        super().__init__(force_str(self.message))


class Conflict(ApplicationError):
    status = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = _("The request conflicts with the current state.")


class ServiceUnavailable(ApplicationError):
    status = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_message = _("The service is busy. Try again shortly.")


# DRF's own default codes, renamed where DRF's name is vague.
_DRF_CODES = {
    "invalid": "validation_error",
    "parse_error": "parse_error",
    "authentication_failed": "authentication_failed",
    "not_authenticated": "not_authenticated",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "throttled": "throttled",
    "token_not_valid": "token_not_valid",
}


def error_body(code: str, message, fields=None) -> dict:
    body = {"code": code, "message": force_str(message)}
    if fields:
        # Plain strings, so the body can also be stored as JSON (an
        # idempotent replay keeps it).
        body["fields"] = _field_messages(fields)
    return body


def _field_messages(detail):
    """DRF's nested ``ErrorDetail`` structure as plain strings."""
    if isinstance(detail, dict):
        return {force_str(key): _field_messages(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_field_messages(item) for item in detail]
    return force_str(detail)


def _validation_body(detail) -> dict:
    if isinstance(detail, dict):
        fields = _field_messages(detail)
        general = fields.pop("non_field_errors", None)
        message = (
            general[0]
            if isinstance(general, list) and general and isinstance(general[0], str)
            else gettext("Some fields are not valid.")
        )
        return error_body("validation_error", message, fields)
    messages = _field_messages(detail)
    if isinstance(messages, list) and messages and isinstance(messages[0], str):
        return error_body("validation_error", messages[0])
    return error_body("validation_error", gettext("The request is not valid."))


def api_exception_handler(exc, context):
    """DRF's ``EXCEPTION_HANDLER``: every known error in the one shape.

    Anything unknown is left to Django, whose ``handler500`` answers in the
    same shape after logging the traceback with the request id.
    """
    headers = {}
    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        body = error_body(exc.code, exc.message, exc.fields)
        return Response(body, status=exc.status, headers=headers)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(serializers.as_serializer_error(exc))

    if not isinstance(exc, exceptions.APIException):
        return None

    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        body = _validation_body(exc.detail)
    else:
        code = exc.detail.code if hasattr(exc.detail, "code") else exc.default_code
        if isinstance(exc.detail, dict):
            # simplejwt's InvalidToken carries a dict with its own detail.
            message = exc.detail.get("detail", exc.default_detail)
            code = getattr(message, "code", None) or exc.default_code
        else:
            message = exc.detail
        body = error_body(_DRF_CODES.get(code, code), message)
    return Response(body, status=exc.status_code, headers=headers)


def json_error(request, code: str, message, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


# Django's error views, for paths no DRF view serves.
def bad_request(request, exception=None):
    return json_error(request, "bad_request", _("The request is malformed."), 400)


def permission_denied(request, exception=None):
    return json_error(
        request,
        "permission_denied",
        _("You do not have permission to perform this action."),
        403,
    )


def page_not_found(request, exception=None):
    return json_error(request, "not_found", _("Not found."), 404)


def server_error(request):
    return json_error(
        request, "server_error", _("Something went wrong on our side."), 500
    )


def csrf_failure(request, reason=""):
    return json_error(request, "csrf_failed", _("CSRF verification failed."), 403)


# Status codes whose empty Django answers the ErrorShapeMiddleware fills in.
EMPTY_ERROR_CODES = {
    400: ("bad_request", _("The request is malformed.")),
    401: ("not_authenticated", _("Authentication credentials were not provided.")),
    403: ("permission_denied", _("You do not have permission to perform this action.")),
    404: ("not_found", _("Not found.")),
    405: ("method_not_allowed", _("This method is not allowed here.")),
    406: ("not_acceptable", _("The requested format cannot be served.")),
    413: ("request_too_large", _("The request body is too large.")),
    415: ("unsupported_media_type", _("This content type is not supported.")),
    429: ("throttled", _("Too many requests. Try again later.")),
    500: ("server_error", _("Something went wrong on our side.")),
    503: ("service_unavailable", _("The service is busy. Try again shortly.")),
}
