from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny

from blog import selectors
from blog.models import Post
from blog.serializers import (
    PostDetailSerializer,
    PostListItemSerializer,
    PostListQuerySerializer,
)
from mithrapay.response_cache import ResponseCache

# The list pages, kept until a blog write, BLOG_CACHE_SECONDS, or the moment
# the next scheduled post goes live, whichever comes first.
BLOG_LIST_RESPONSES = ResponseCache(
    namespace="blog",
    version_key=selectors.BLOG_VERSION_KEY,
    actions=frozenset({"list"}),
    seconds=lambda: settings.BLOG_CACHE_SECONDS,
    fresh_until=selectors.next_publication,
)


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
    response_cache = BLOG_LIST_RESPONSES

    def get_serializer_class(self):
        if self.action == "retrieve":
            return PostDetailSerializer
        return PostListItemSerializer

    def get_queryset(self):
        return selectors.post_list()

    def list(self, request, *args, **kwargs):
        return self.response_cache.serve(request, lambda: self._list(request))

    def _list(self, request):
        query = PostListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tag = query.validated_data.get("tag", "")

        posts = selectors.post_list(
            tag=tag, search=query.validated_data.get("search", "")
        )
        page = self.paginate_queryset(posts)
        if tag and self.paginator.page.paginator.count == 0:
            selectors.check_tag_exists(slug=tag)

        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def get_object(self):
        try:
            return selectors.post_get_live(slug=self.kwargs["slug"])
        except Post.DoesNotExist:
            raise NotFound() from None
