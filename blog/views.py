from dataclasses import replace
from datetime import datetime
from functools import cached_property

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from blog import selectors
from blog.models import Post
from blog.pagination import CountedPageNumberPagination
from blog.serializers import (
    PostDetailSerializer,
    PostListItemSerializer,
    PostListQuerySerializer,
)
from mithrapay.response_cache import ResponseCache

# The list pages, kept until a blog write, BLOG_CACHE_SECONDS, or the moment
# the next scheduled post goes live, whichever comes first. That moment is
# read per request, with the count (see ``PostViewSet.list``).
BLOG_LIST_RESPONSES = ResponseCache(
    namespace="blog",
    version_key=selectors.BLOG_VERSION_KEY,
    actions=frozenset({"list"}),
    seconds=lambda: settings.BLOG_CACHE_SECONDS,
)


class _ListRequest:
    """One list request's filters, and its count and next publication, read
    at most once, at one instant the page query shares."""

    def __init__(self, *, tag: str, search: str):
        self.tag = tag
        self.search = search
        self.now = timezone.now()

    @cached_property
    def summary(self) -> selectors.PostListSummary:
        return selectors.post_list_summary(
            tag=self.tag, search=self.search, now=self.now
        )

    def next_publication(self) -> datetime | None:
        return self.summary.next_publication


@extend_schema_view(
    list=extend_schema(
        summary="Published blog posts, newest first",
        parameters=[PostListQuerySerializer],
    ),
    retrieve=extend_schema(
        summary="One published blog post with its HTML",
        parameters=[
            OpenApiParameter("slug", str, OpenApiParameter.PATH, description="slug")
        ],
    ),
)
class PostViewSet(viewsets.ReadOnlyModelViewSet):
    """The blog as customers see it; staff preview drafts in the admin."""

    permission_classes = [AllowAny]
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"
    filter_backends = []
    pagination_class = CountedPageNumberPagination
    response_cache = BLOG_LIST_RESPONSES

    def get_serializer_class(self):
        if self.action == "retrieve":
            return PostDetailSerializer
        return PostListItemSerializer

    def get_queryset(self):
        return selectors.post_list()

    def list(self, request, *args, **kwargs):
        query = PostListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        listing = _ListRequest(
            tag=query.validated_data.get("tag", ""),
            search=query.validated_data.get("search", ""),
        )

        # On a miss the cache asks for the next publication before building
        # the page; it comes with the count, so a miss costs three queries
        # (count and next publication, page, tags).
        policy = replace(self.response_cache, fresh_until=listing.next_publication)
        return policy.serve(request, lambda: self._list(listing))

    def _list(self, listing: _ListRequest):
        posts = selectors.post_list(
            tag=listing.tag, search=listing.search, now=listing.now
        )
        count = listing.summary.count
        page = self.paginator.paginate_counted(
            posts, self.request, count=count, view=self
        )
        if listing.tag and count == 0:
            selectors.check_tag_exists(slug=listing.tag)

        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def get_object(self):
        try:
            return selectors.post_get_live(slug=self.kwargs["slug"])
        except Post.DoesNotExist:
            raise NotFound() from None
