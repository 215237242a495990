from django.urls import re_path
from rest_framework.routers import SimpleRouter

from blog.feeds import LatestPostsAtomFeed, LatestPostsFeed
from blog.views import PostViewSet

router = SimpleRouter()
# SimpleRouter's constructor only knows "/" or nothing; "/?" answers both.
router.trailing_slash = "/?"
router.register("blog", PostViewSet, basename="blog-post")

# The feeds come first: "feed" is a reserved slug, never a post's address.
urlpatterns = [
    re_path(r"^blog/feed/?$", LatestPostsFeed(), name="blog-feed"),
    re_path(r"^blog/feed/atom/?$", LatestPostsAtomFeed(), name="blog-feed-atom"),
    *router.urls,
]
