from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import pagination, serializers


class PageNumberPagination(pagination.PageNumberPagination):
    """``?page=`` and ``?page_size=`` (capped); answers count/next/previous/results.

    A ``page_size`` that is not one whole number from 1 up (``0``, ``x``, the
    parameter given twice) answers 400 ``validation_error``; a ``page`` that
    names no page (``0``, ``abc``, empty, given twice, past the last) answers
    404 ``not_found``.
    """

    page_size_query_param = "page_size"

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE

    def get_page_number(self, request, paginator):
        values = request.query_params.getlist(self.page_query_param)
        if not values:
            return 1
        # The paginator refuses anything but one page number with not_found.
        return values[0] if len(values) == 1 else "invalid"

    def get_page_size(self, request):
        size = _positive_int(request, self.page_size_query_param)
        return min(size, self.max_page_size) if size else self.page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = str(
                    _("Results per page; larger values are capped at %(limit)s.")
                    % {"limit": self.max_page_size}
                )
        return parameters


def _positive_int(request, name: str) -> int | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) == 1 and values[0].isascii() and values[0].isdigit():
        # Past 18 digits any size is past the cap; int() would refuse
        # thousands of digits anyway.
        number = int(values[0]) if len(values[0]) <= 18 else 10**18
        if number >= 1:
            return number
    raise serializers.ValidationError(
        {name: [_("Give one whole number from 1 up.")]}, code="invalid"
    )
