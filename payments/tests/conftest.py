import pytest

from accounts import sms
from orders import services as order_services
from orders.tests.factories import VariantFactory, add_codes


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def order(user):
    variant = VariantFactory()
    add_codes(variant, 4)
    return order_services.order_create(
        user=user, lines=[{"variant": variant.pk, "quantity": 2}]
    )
