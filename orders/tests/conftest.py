import pytest
from rest_framework.test import APIClient

from orders.tests.factories import VariantFactory, add_codes


@pytest.fixture
def code_variant(db):
    variant = VariantFactory()
    add_codes(variant, 5)
    return variant


@pytest.fixture
def customer_client(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def other_client(other_user):
    client = APIClient()
    client.force_authenticate(user=other_user)
    return client
