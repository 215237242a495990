from catalog.views import CategoryViewSet, ProductViewSet
from mithrapay.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("categories", CategoryViewSet, basename="category")
router.register("products", ProductViewSet, basename="product")

urlpatterns = router.urls
