from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from blog.models import Post, Tag


class PostListQuerySerializer(serializers.Serializer):
    tag = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text=_("A tag's slug.")
    )
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=_("Words looked for in the title and the body."),
    )


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("name", "slug")


class LinkedProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()


class PostListItemSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()
    cover_image = serializers.ImageField(read_only=True, use_url=True)
    tags = TagSerializer(many=True, read_only=True)

    class Meta:
        model = Post
        fields = (
            "id",
            "title",
            "slug",
            "excerpt",
            "cover_image",
            "published_at",
            "reading_minutes",
            "author",
            "tags",
        )

    def get_author(self, post) -> str:
        return post.author.get_full_name()


class PostDetailSerializer(PostListItemSerializer):
    html = serializers.CharField(source="rendered_html", read_only=True)
    seo_title = serializers.SerializerMethodField()
    seo_description = serializers.SerializerMethodField()
    products = LinkedProductSerializer(
        source="active_products", many=True, read_only=True
    )

    class Meta(PostListItemSerializer.Meta):
        fields = (
            *PostListItemSerializer.Meta.fields,
            "html",
            "updated_at",
            "seo_title",
            "seo_description",
            "products",
        )

    def get_seo_title(self, post) -> str:
        return post.seo_title or post.title

    def get_seo_description(self, post) -> str:
        return post.seo_description or post.excerpt
