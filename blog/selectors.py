"""Reads of the blog as customers see it: only live posts."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from blog.errors import UnknownTag
from blog.models import Post, Tag
from catalog.models import Product
from catalog.selectors import active_category_q
from mithrapay import response_cache

# Bumped by every blog write (``services.blog_version_bump``); cached blog
# answers built under an older version are never served.
BLOG_VERSION_KEY = "blog:version"


def blog_version() -> int:
    return response_cache.version(BLOG_VERSION_KEY)


def next_publication() -> datetime | None:
    """When the next scheduled post goes live, if one is scheduled: a cached
    list must not outlive that moment."""
    return (
        Post.objects.filter(
            status=Post.Status.PUBLISHED, published_at__gt=timezone.now()
        )
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )


def post_list(*, tag: str = "", search: str = "") -> QuerySet[Post]:
    """Live posts, newest first, without their bodies.

    An unknown ``tag`` is not checked here (that would cost a query on
    every page); :func:`check_tag_exists` runs only when a tag matched
    nothing.
    """
    posts = (
        Post.objects.live()
        .select_related("author")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .defer("body", "rendered_html")
        .order_by("-published_at", "-id")
    )
    if tag:
        posts = posts.filter(tags__slug=tag)
    if search:
        # Known limit: a substring match cannot use an index, so a search
        # reads every live post's body (about 0.2 s for 2,000 long posts on
        # MariaDB, see README); a full-text index is the next step.
        posts = posts.filter(Q(title__icontains=search) | Q(body__icontains=search))
    return posts


def check_tag_exists(*, slug: str) -> None:
    if not Tag.objects.filter(slug=slug).exists():
        raise UnknownTag(fields={"tag": [str(UnknownTag.default_message)]})


def post_get_live(*, slug: str) -> Post:
    """The live post with this slug; drafts and scheduled posts do not exist."""
    return (
        Post.objects.live()
        .select_related("author")
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name")),
            Prefetch(
                "products",
                # The products the catalog itself shows, so no link 404s.
                queryset=Product.objects.filter(
                    active_category_q("category__"), is_active=True
                )
                .only("id", "name", "slug")
                .order_by("name", "id"),
                to_attr="active_products",
            ),
        )
        .get(slug=slug)
    )


def post_feed_items(*, limit: int) -> list[Post]:
    return list(
        Post.objects.live()
        .select_related("author")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("-published_at", "-id")[:limit]
    )
