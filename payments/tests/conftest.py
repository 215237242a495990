import pytest

from orders import services as order_services
from orders.tests.factories import VariantFactory, add_codes


@pytest.fixture(autouse=True)
def _sms_outbox(settings):
    # The root conftest empties the outbox around every test.
    settings.SMS_BACKEND = "locmem"


@pytest.fixture
def order(user):
    variant = VariantFactory()
    add_codes(variant, 4)
    return order_services.order_create(
        user=user, lines=[{"variant": variant.pk, "quantity": 2}]
    )
