from rest_framework.routers import SimpleRouter

from orders.views import OrderViewSet, SubscriptionViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("orders", OrderViewSet, basename="order")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")

urlpatterns = router.urls
