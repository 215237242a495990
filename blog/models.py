from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_unicode_slug
from django.db import models
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from blog import rendering

# Paths under /blog/ that a post's slug may not take.
RESERVED_SLUGS = frozenset({"feed"})
SLUG_MAX_LENGTH = 200


def validate_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is reserved for the blog's own pages."),
            code="slug_reserved",
            params={"slug": value},
        )


def slug_from_title(title: str) -> str:
    """A URL slug for a title; Persian and other scripts keep their letters."""
    slug = slugify(title, allow_unicode=True)[:SLUG_MAX_LENGTH].strip("-")
    if not slug or slug in RESERVED_SLUGS:
        slug = f"post-{slug}" if slug else "post"
    return slug


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=80, unique=True)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, allow_unicode=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ("name", "id")

    def __str__(self):
        return self.name


class PostQuerySet(models.QuerySet):
    def live(self, *, now=None):
        """Published posts whose publication time has come."""
        return self.filter(
            status=Post.Status.PUBLISHED,
            published_at__lte=now or timezone.now(),
        )


class Post(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(
        _("slug"),
        max_length=SLUG_MAX_LENGTH,
        unique=True,
        allow_unicode=True,
        validators=[validate_unicode_slug, validate_not_reserved],
        help_text=_("The post's address; it cannot change once the post is live."),
    )
    excerpt = models.TextField(_("excerpt"), max_length=500, blank=True)
    body = models.TextField(_("body"), help_text=_("Markdown."))
    rendered_html = models.TextField(_("rendered HTML"), editable=False, default="")
    cover_image = models.ImageField(_("cover image"), upload_to="blog/", blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    published_at = models.DateTimeField(
        _("published at"),
        null=True,
        blank=True,
        help_text=_("A future time schedules the post."),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        limit_choices_to={"is_staff": True},
        related_name="blog_posts",
    )
    tags = models.ManyToManyField(
        Tag, verbose_name=_("tags"), blank=True, related_name="posts"
    )
    products = models.ManyToManyField(
        "catalog.Product",
        verbose_name=_("linked products"),
        blank=True,
        related_name="+",
    )
    seo_title = models.CharField(_("SEO title"), max_length=70, blank=True)
    seo_description = models.CharField(_("SEO description"), max_length=160, blank=True)
    reading_minutes = models.PositiveSmallIntegerField(
        _("reading time in minutes"), default=1, editable=False
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ("-published_at", "-id")
        indexes = [models.Index(fields=["status", "published_at"])]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Rendered here, so a post saved any way (admin, shell, import)
        # never shows stale or unsanitised HTML.
        if not self.slug:
            self.slug = slug_from_title(self.title)
        if self.status == self.Status.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        self.rendered_html = rendering.render_markdown(self.body)
        self.reading_minutes = rendering.reading_minutes(self.body)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "body" in update_fields:
            kwargs["update_fields"] = {
                *update_fields,
                "rendered_html",
                "reading_minutes",
            }
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return f"/blog/{self.slug}"

    @property
    def is_live(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )
