"""Request-level guards that keep every answer in the one error shape."""

import json
import logging

import kombu.exceptions
import redis.exceptions
from django import db
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.utils.functional import SimpleLazyObject, empty
from django.utils.translation import gettext as _

from mithrapay.errors import EMPTY_ERROR_CODES, error_body, json_error

logger = logging.getLogger(__name__)


class BodySizeLimitMiddleware:
    """Refuse an oversized body before any view reads it.

    Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body``
    is read, and DRF's parsers read the stream directly, so the limit is
    enforced here from ``Content-Length``. Multipart uploads (code imports in
    the admin) have their own, larger limit, ``MAX_UPLOAD_SIZE``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return json_error(
                request, "bad_request", _("Content-Length is not a number."), 400
            )
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/"):
            limit = settings.MAX_UPLOAD_SIZE
        else:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            code, message = EMPTY_ERROR_CODES[413]
            return json_error(request, code, message, 413)
        return self.get_response(request)


class ErrorShapeMiddleware:
    """Give Django's bodiless error answers (a 405 from a plain view, say)
    the one JSON error shape."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and not response.streaming
            and not response.content
            and response.status_code in EMPTY_ERROR_CODES
        ):
            code, message = EMPTY_ERROR_CODES[response.status_code]
            response.content = json.dumps(error_body(code, message))
            response["Content-Type"] = "application/json"
        return response


# Failures of the parts the application depends on: Redis (cache, OTPs,
# throttles), the Celery broker and the database connection.
OUTAGE_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
    db.OperationalError,
)


class ServiceOutageMiddleware:
    """Answer 503 ``service_unavailable`` when Redis, the broker or the
    database cannot be reached, instead of a 500: the request was fine and
    may be repeated once the part is back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OUTAGE_ERRORS):
            return None
        logger.warning(
            "dependency unavailable",
            exc_info=exception,
            extra={"path": request.path, "error": type(exception).__name__},
        )
        code, message = EMPTY_ERROR_CODES[503]
        response = json_error(request, code, message, 503)
        response["Retry-After"] = "5"
        return response


class LazyMessageMiddleware(MessageMiddleware):
    """Django's messages, with the storage built only when a view uses it.

    Django builds the message storage (a cookie and a session store behind
    one object) for every request; only the admin's pages use it. Here the
    request carries a lazy stand-in that builds the same storage on first
    use, and a response whose request never used it is passed on as it is:
    Django's storage, unused and given nothing, would not touch it either.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
