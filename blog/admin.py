from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from blog import services
from blog.models import Post, Tag
from mithrapay.errors import ApplicationError


class PostAdminForm(forms.ModelForm):
    """Runs the blog's rules (slug, body) with the same codes the services use."""

    class Meta:
        model = Post
        fields = (
            "title",
            "slug",
            "excerpt",
            "body",
            "cover_image",
            "status",
            "published_at",
            "author",
            "tags",
            "products",
            "seo_title",
            "seo_description",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "author" in self.fields:
            # Left empty, the post is the editor's own (PostAdmin.save_model).
            self.fields["author"].required = False

    def clean(self):
        cleaned = super().clean()
        errors = {}
        if "body" in cleaned:
            try:
                services.check_body(body=cleaned["body"])
            except ApplicationError as exc:
                errors["body"] = ValidationError(exc.message, code=exc.code)
        if cleaned.get("slug"):
            try:
                services.check_slug(slug=cleaned["slug"], post=self.instance)
            except ApplicationError as exc:
                errors["slug"] = ValidationError(exc.message, code=exc.code)
        if errors:
            raise ValidationError(errors)
        return cleaned


class BlogChangesAdmin(admin.ModelAdmin):
    """Saves and deletes made here change what the public blog shows, so
    each one makes the cached blog answers stale."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.blog_version_bump()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.blog_version_bump()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.blog_version_bump()


@admin.register(Tag)
class TagAdmin(BlogChangesAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Post)
class PostAdmin(BlogChangesAdmin):
    form = PostAdminForm
    list_display = ("title", "status", "published_at", "visibility", "author")
    list_filter = ("status", "tags")
    search_fields = ("title", "body", "slug")
    prepopulated_fields = {"slug": ("title",)}
    filter_horizontal = ("tags", "products")
    date_hierarchy = "published_at"
    list_select_related = ("author",)
    readonly_fields = ("preview_link", "reading_minutes", "created_at", "updated_at")
    actions = ("publish_now", "unpublish")
    fieldsets = (
        (None, {"fields": ("title", "slug", "excerpt", "body", "cover_image")}),
        (_("Publication"), {"fields": ("status", "published_at", "author")}),
        (_("Links"), {"fields": ("tags", "products")}),
        (_("Search engines"), {"fields": ("seo_title", "seo_description")}),
        (
            _("About"),
            {
                "fields": (
                    "preview_link",
                    "reading_minutes",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("author", request.user.pk)
        return initial

    def save_model(self, request, obj, form, change):
        if not obj.author_id:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=_("visible"))
    def visibility(self, post):
        if post.is_live:
            return _("live")
        if post.status == Post.Status.PUBLISHED:
            return _("scheduled")
        return _("draft")

    @admin.display(description=_("preview"))
    def preview_link(self, post):
        if not post.pk:
            return "—"
        url = reverse("admin:blog_post_preview", args=[post.pk])
        return format_html('<a href="{}" target="_blank">{}</a>', url, _("Preview"))

    def get_urls(self):
        preview = path(
            "<int:post_id>/preview/",
            self.admin_site.admin_view(self.preview_view),
            name="blog_post_preview",
        )
        return [preview, *super().get_urls()]

    def preview_view(self, request, post_id):
        """The post as it will look, whatever its status, for staff only."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        post = get_object_or_404(
            Post.objects.select_related("author").prefetch_related("tags"),
            pk=post_id,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Preview: %(title)s") % {"title": post.title},
            "post": post,
        }
        return TemplateResponse(request, "admin/blog/post/preview.html", context)

    @admin.action(description=_("Publish now"), permissions=["change"])
    def publish_now(self, request, queryset):
        for post in queryset.order_by("pk"):
            services.post_publish(post=post)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d post published.", "%(count)d posts published.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Unpublish"), permissions=["change"])
    def unpublish(self, request, queryset):
        for post in queryset.order_by("pk"):
            services.post_unpublish(post=post)
        count = queryset.count()
        self.message_user(
            request,
            ngettext(
                "%(count)d post unpublished.", "%(count)d posts unpublished.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )
