"""DRF's content negotiation, with the common request answered at once.

Most requests name no format and accept anything (no ``Accept`` header, or
``*/*``) or exactly the first renderer's media type; DRF's negotiation
still builds the request's query dictionary and header mapping and parses
the header into media types to reach the answer it gives every such
request: the first renderer, at its own media type. This class gives that
answer directly and hands every other request (a format in the URL or the
query string, any other ``Accept``) to DRF's negotiation unchanged.
"""

from rest_framework.negotiation import DefaultContentNegotiation

_ANYTHING = "*/*"


class ContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix and not self._names_a_format(request):
            first = renderers[0]
            accept = request.META.get("HTTP_ACCEPT", _ANYTHING)
            if accept in (_ANYTHING, first.media_type):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)

    def _names_a_format(self, request) -> bool:
        """Whether the query string may carry the format override: its name
        appears, or an escape that could spell it does."""
        name = self.settings.URL_FORMAT_OVERRIDE
        if not name:
            return False
        query = request.META.get("QUERY_STRING", "")
        return name in query or "%" in query
