"""Reads of the blog as customers see it: only live posts."""

from datetime import datetime
from typing import NamedTuple

from django.db.models import Count, Min, Prefetch, Q, QuerySet

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


class PostListSummary(NamedTuple):
    count: int
    next_publication: datetime | None


def _matching(*, tag: str, search: str) -> Q:
    """The list's filters, as one condition the count and the page share."""
    condition = Q()
    if tag:
        # A subquery rather than a join: one row per post whatever its tags,
        # and MariaDB reads the tag's posts once for the whole count.
        condition &= Q(
            pk__in=Post.tags.through.objects.filter(tag__slug=tag).values("post_id")
        )
    if search:
        # Known limit: a substring match cannot use an index, so a search
        # reads every live post's body (about 0.2 s for 2,000 long posts on
        # MariaDB, see README); a full-text index is the next step.
        condition &= Q(title__icontains=search) | Q(body__icontains=search)
    return condition


def post_list_summary(
    *, tag: str = "", search: str = "", now: datetime
) -> PostListSummary:
    """How many live posts match the filters, and when the next scheduled
    post goes live, in one query.

    The next publication ignores the filters: a cached list, filtered or
    not, must not outlive the moment any scheduled post goes live, even
    when the list itself is empty.
    """
    live = Q(published_at__lte=now)
    summary = Post.objects.filter(status=Post.Status.PUBLISHED).aggregate(
        count=Count("pk", filter=live & _matching(tag=tag, search=search)),
        next_publication=Min("published_at", filter=Q(published_at__gt=now)),
    )
    return PostListSummary(summary["count"], summary["next_publication"])


def post_list(
    *, tag: str = "", search: str = "", now: datetime | None = None
) -> QuerySet[Post]:
    """Live posts at ``now`` (by default the present), newest first, without
    their bodies.

    An unknown ``tag`` is not checked here (that would cost a query on
    every page); :func:`check_tag_exists` runs only when a tag matched
    nothing.
    """
    return (
        Post.objects.live(now=now)
        .filter(_matching(tag=tag, search=search))
        .select_related("author")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .defer("body", "rendered_html")
        .order_by("-published_at", "-id")
    )


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
