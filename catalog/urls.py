from rest_framework.routers import SimpleRouter

from catalog.views import CategoryViewSet, ProductViewSet

# "/?": every path answers with and without its trailing slash.
router = SimpleRouter(trailing_slash="/?")
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")

urlpatterns = router.urls
