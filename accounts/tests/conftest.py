import re

import pytest
from rest_framework.test import APIClient

from accounts import sms


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def sent_code():
    """The code in the latest text sent to a phone."""

    def read(phone: str) -> str:
        texts = [message for message in sms.outbox if message.to == phone]
        assert texts, f"no text was sent to {phone}"
        return re.search(r"\b(\d{6})\b", texts[-1].body).group(1)

    return read


@pytest.fixture
def bearer():
    """An API client presenting an access token."""

    def client_for(access: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
        return client

    return client_for


@pytest.fixture
def ask_code(django_capture_on_commit_callbacks):
    """POST /auth/request-otp and run what it queued for after commit."""

    def ask(phone: str, purpose: str = "login", client=None, **extra):
        client = client or APIClient()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/auth/request-otp", {"phone": phone, "purpose": purpose}, **extra
            )

    return ask
