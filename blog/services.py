"""Writes to the blog: creating, editing, publishing and unpublishing posts."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db import IntegrityError, transaction
from django.utils import timezone

from blog import rendering, selectors
from blog.errors import (
    AuthorNotStaff,
    SlugInvalid,
    SlugLocked,
    SlugReserved,
    SlugTaken,
    UnsafeMarkup,
)
from blog.models import (
    RESERVED_SLUGS,
    SLUG_MAX_LENGTH,
    Post,
    Tag,
    slug_from_title,
)
from mithrapay import response_cache

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = frozenset(
    {
        "title",
        "slug",
        "excerpt",
        "body",
        "cover_image",
        "status",
        "published_at",
        "seo_title",
        "seo_description",
    }
)


def blog_version_bump() -> None:
    """Make every cached blog answer stale once the write commits. Every
    service below calls it; so does the admin for what it saves itself."""
    response_cache.bump(selectors.BLOG_VERSION_KEY)


def check_slug(*, slug: str, post: Post | None = None) -> None:
    """Refuse a slug that is malformed, reserved, taken, or replaces a live one."""
    if post is not None and post.pk and post.is_live:
        current = Post.objects.filter(pk=post.pk).values_list("slug", flat=True).get()
        if slug != current:
            raise SlugLocked(fields={"slug": [str(SlugLocked.default_message)]})
    try:
        validate_unicode_slug(slug)
    except ValidationError:
        raise SlugInvalid(fields={"slug": [str(SlugInvalid.default_message)]}) from None
    if len(slug) > SLUG_MAX_LENGTH:
        raise SlugInvalid(fields={"slug": [str(SlugInvalid.default_message)]})
    if slug.lower() in RESERVED_SLUGS:
        raise SlugReserved(fields={"slug": [str(SlugReserved.default_message)]})
    others = Post.objects.filter(slug=slug)
    if post is not None and post.pk:
        others = others.exclude(pk=post.pk)
    if others.exists():
        raise SlugTaken(fields={"slug": [str(SlugTaken.default_message)]})


def check_author(*, author) -> None:
    # The admin offers only staff; this holds for every other caller too.
    if not author.is_staff:
        raise AuthorNotStaff(fields={"author": [str(AuthorNotStaff.default_message)]})


def check_body(*, body: str) -> None:
    if rendering.unsafe_markup(body):
        raise UnsafeMarkup(fields={"body": [str(UnsafeMarkup.default_message)]})


def _free_slug(title: str) -> str:
    """The title's slug, numbered when another post already holds it.

    Each candidate is checked by the database, whose collation decides what
    counts as the same slug (MariaDB treats some letters as equal).
    """
    base = slug_from_title(title)
    candidate, number = base, 1
    while Post.objects.filter(slug=candidate).exists():
        number += 1
        candidate = f"{base[: SLUG_MAX_LENGTH - 8]}-{number}"
    return candidate


def _save(post: Post) -> Post:
    try:
        with transaction.atomic():
            post.save()
    except IntegrityError:
        # Two editors saved the same slug at once; the unique index decided.
        raise SlugTaken(fields={"slug": [str(SlugTaken.default_message)]}) from None
    return post


@transaction.atomic
def post_create(
    *,
    author,
    title: str,
    body: str,
    slug: str | None = None,
    excerpt: str = "",
    status: str = Post.Status.DRAFT,
    published_at: datetime | None = None,
    tags: Iterable[Tag] = (),
    products: Iterable = (),
    seo_title: str = "",
    seo_description: str = "",
) -> Post:
    check_author(author=author)
    check_body(body=body)
    if slug:
        check_slug(slug=slug)
    else:
        slug = _free_slug(title)

    post = _save(
        Post(
            author=author,
            title=title,
            slug=slug,
            body=body,
            excerpt=excerpt,
            status=status,
            published_at=published_at,
            seo_title=seo_title,
            seo_description=seo_description,
        )
    )
    post.tags.set(tags)
    post.products.set(products)
    blog_version_bump()

    logger.info("blog post created", extra={"post_id": post.pk})
    return post


@transaction.atomic
def post_update(*, post: Post, data: dict) -> Post:
    """Change the given fields; ``tags`` and ``products`` replace the links."""
    unknown = set(data) - EDITABLE_FIELDS - {"tags", "products"}
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "body" in data:
        check_body(body=data["body"])
    if "slug" in data:
        check_slug(slug=data["slug"], post=post)

    for name in EDITABLE_FIELDS & set(data):
        setattr(post, name, data[name])
    _save(post)
    if "tags" in data:
        post.tags.set(data["tags"])
    if "products" in data:
        post.products.set(data["products"])
    blog_version_bump()

    logger.info("blog post updated", extra={"post_id": post.pk})
    return post


@transaction.atomic
def post_publish(*, post: Post, at: datetime | None = None) -> Post:
    """Publish now, or at ``at`` (a future time schedules the post).

    A post already live keeps its original publication time when published
    "now" again, so its place in the list and the feed does not move.
    """
    # Re-read under a row lock: an action run twice at once (two editors,
    # a double click) must not leave two different publication times.
    post = Post.objects.select_for_update().get(pk=post.pk)
    if at is None and post.is_live:
        return post

    post.status = Post.Status.PUBLISHED
    post.published_at = at or timezone.now()
    post.save(update_fields=["status", "published_at", "updated_at"])
    blog_version_bump()

    logger.info("blog post published", extra={"post_id": post.pk})
    return post


@transaction.atomic
def post_unpublish(*, post: Post) -> Post:
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.status == Post.Status.DRAFT:
        return post

    post.status = Post.Status.DRAFT
    post.save(update_fields=["status", "updated_at"])
    blog_version_bump()

    logger.info("blog post unpublished", extra={"post_id": post.pk})
    return post
