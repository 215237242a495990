"""Pages of a list whose count the view has read already."""

from functools import partial

from django.core.paginator import Paginator

from mithrapay.pagination import PageNumberPagination


class CountedPaginator(Paginator):
    """A paginator told the list's length instead of counting it."""

    def __init__(self, object_list, per_page, *args, count: int, **kwargs):
        super().__init__(object_list, per_page, *args, **kwargs)
        # Replaces the cached property before anything reads it.
        self.count = count


class CountedPageNumberPagination(PageNumberPagination):
    """The project's pagination, for a view that read the count together
    with other figures in one query and must not count again."""

    def paginate_counted(self, queryset, request, *, count: int, view=None):
        self.django_paginator_class = partial(CountedPaginator, count=count)
        return self.paginate_queryset(queryset, request, view=view)
