"""Request-level guards that keep every answer in the one error shape."""

import json

from django.conf import settings

from mithrapay.errors import EMPTY_ERROR_CODES, error_body, json_error


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
                request, "bad_request", "Content-Length is not a number.", 400
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
