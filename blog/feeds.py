"""The blog's RSS and Atom feeds, through Django's syndication framework."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from blog import selectors


class LatestPostsFeed(Feed):
    title = _("MithraPay blog")
    link = "/blog/"
    description = _("Guides, news and offers from MithraPay.")

    def items(self):
        return selectors.post_feed_items(limit=settings.BLOG_FEED_ITEMS)

    def item_title(self, post):
        return post.title

    def item_description(self, post):
        # The rendered HTML is sanitised; feed readers show it as the post.
        return post.rendered_html

    def item_link(self, post):
        return post.get_absolute_url()

    def item_guid(self, post):
        return f"mithrapay-post-{post.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return post.updated_at

    def item_author_name(self, post):
        return post.author.get_full_name() or None

    def item_categories(self, post):
        return [tag.name for tag in post.tags.all()]


class LatestPostsAtomFeed(LatestPostsFeed):
    feed_type = Atom1Feed
    subtitle = LatestPostsFeed.description
