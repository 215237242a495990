from mithrapay.routers import OptionalSlashRouter
from orders.views import OrderViewSet, SubscriptionViewSet

router = OptionalSlashRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")

urlpatterns = router.urls
