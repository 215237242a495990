"""SMS backends. Kavenegar is exercised against its answers as recorded in
``kavenegar/`` (served by the ``responses`` library); no test reaches the
network."""

import io
import json
import logging
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from accounts import sms
from accounts.sms import SmsError, SmsMessage, get_backend
from accounts.sms.console import ConsoleBackend
from accounts.sms.file import FileBackend
from accounts.sms.kavenegar import KavenegarBackend
from accounts.tasks import send_sms

RECORDINGS = Path(__file__).parent / "kavenegar"
PHONE = "+989121234567"
SEND_URL = "https://api.kavenegar.com/v1/test-api-key/sms/send.json"
LOOKUP_URL = "https://api.kavenegar.com/v1/test-api-key/verify/lookup.json"
MESSAGE = SmsMessage(to=PHONE, body="MithraPay code: 482913", code="482913")


def _recorded(name: str) -> dict:
    return json.loads((RECORDINGS / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def kavenegar(settings, monkeypatch):
    settings.SMS_BACKEND = "kavenegar"
    settings.KAVENEGAR_API_KEY = "test-api-key"
    settings.KAVENEGAR_SENDER = "10004346"
    settings.KAVENEGAR_OTP_TEMPLATE = ""
    settings.SMS_RETRIES = 2
    monkeypatch.setattr("accounts.sms.kavenegar.time.sleep", lambda seconds: None)
    with responses.RequestsMock() as mocked:
        yield mocked


def _form(call) -> dict:
    return {key: values[0] for key, values in parse_qs(call.request.body).items()}


# --- Choosing a backend ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        ("console", "ConsoleBackend"),
        ("locmem", "LocmemBackend"),
        ("file", "FileBackend"),
    ],
)
def test_sms_backend_setting_chooses_the_backend(settings, name, backend):
    settings.SMS_BACKEND = name

    assert type(get_backend()).__name__ == backend


def test_tests_use_the_locmem_outbox():
    get_backend().send(MESSAGE)

    assert sms.outbox == [MESSAGE]


def test_console_backend_prints_phone_and_text():
    stream = io.StringIO()

    ConsoleBackend(stream=stream).send(MESSAGE)

    assert PHONE in stream.getvalue()
    assert "MithraPay code: 482913" in stream.getvalue()


def test_file_backend_writes_one_file_per_message(settings, tmp_path):
    settings.SMS_FILE_PATH = tmp_path / "outbox"

    get_backend("file").send(MESSAGE)
    get_backend("file").send(SmsMessage(to="+989120000000", body="second"))

    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2
    texts = {path.read_text(encoding="utf-8") for path in files}
    assert f"{PHONE}\nMithraPay code: 482913\n" in texts


def test_file_backend_reports_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")

    with pytest.raises(SmsError):
        FileBackend(path=blocker / "outbox").send(MESSAGE)


def test_message_repr_hides_the_text():
    assert "482913" not in repr(MESSAGE)


# --- Kavenegar ---------------------------------------------------------------


def test_kavenegar_sends_a_plain_message(kavenegar):
    kavenegar.post(SEND_URL, json=_recorded("send_ok"))

    get_backend().send(MESSAGE)

    form = _form(kavenegar.calls[0])
    assert form == {
        "receptor": "00989121234567",
        "message": "MithraPay code: 482913",
        "sender": "10004346",
    }


def test_kavenegar_sends_codes_through_the_template(kavenegar, settings):
    settings.KAVENEGAR_OTP_TEMPLATE = "mithrapay-login"
    kavenegar.post(LOOKUP_URL, json=_recorded("lookup_ok"))

    get_backend().send(MESSAGE)

    form = _form(kavenegar.calls[0])
    assert form == {
        "receptor": "00989121234567",
        "token": "482913",
        "template": "mithrapay-login",
    }


def test_kavenegar_calls_have_a_timeout(kavenegar, settings, monkeypatch):
    settings.SMS_TIMEOUT_SECONDS = 7
    kavenegar.post(SEND_URL, json=_recorded("send_ok"))
    seen = {}
    real_post = requests.Session.post

    def spy(self, url, **kwargs):
        seen["timeout"] = kwargs.get("timeout")
        return real_post(self, url, **kwargs)

    monkeypatch.setattr(requests.Session, "post", spy)

    get_backend().send(MESSAGE)

    assert seen["timeout"] == 7


@pytest.mark.parametrize(
    ("recording", "status"), [("credit_exhausted", 418), ("bad_api_key", 403)]
)
def test_kavenegar_refusal_is_an_sms_error(kavenegar, recording, status):
    kavenegar.post(SEND_URL, json=_recorded(recording), status=status)

    with pytest.raises(SmsError) as raised:
        get_backend().send(MESSAGE)

    assert raised.value.status == status
    assert len(kavenegar.calls) == 1


def test_kavenegar_unreadable_answer_is_an_sms_error(kavenegar):
    kavenegar.post(SEND_URL, body="<html>Bad gateway</html>", status=502)

    with pytest.raises(SmsError):
        get_backend().send(MESSAGE)


def test_kavenegar_retries_network_errors(kavenegar):
    kavenegar.post(SEND_URL, body=requests.ConnectionError("reset"))
    kavenegar.post(SEND_URL, body=requests.ConnectionError("reset"))
    kavenegar.post(SEND_URL, json=_recorded("send_ok"))

    get_backend().send(MESSAGE)

    assert len(kavenegar.calls) == 3


def test_kavenegar_gives_up_after_its_retries(kavenegar):
    for _ in range(3):
        kavenegar.post(SEND_URL, body=requests.ConnectionError("refused"))

    with pytest.raises(SmsError):
        get_backend().send(MESSAGE)

    assert len(kavenegar.calls) == 3


def test_kavenegar_does_not_retry_a_refusal(kavenegar):
    kavenegar.post(SEND_URL, json=_recorded("credit_exhausted"), status=418)

    with pytest.raises(SmsError):
        get_backend().send(MESSAGE)

    assert len(kavenegar.calls) == 1


def test_kavenegar_does_not_retry_a_read_timeout(kavenegar):
    kavenegar.post(SEND_URL, body=requests.ReadTimeout("slow"))

    with pytest.raises(SmsError):
        get_backend().send(MESSAGE)

    assert len(kavenegar.calls) == 1


def test_kavenegar_needs_an_api_key(settings):
    settings.KAVENEGAR_API_KEY = ""

    with pytest.raises(ImproperlyConfigured):
        KavenegarBackend()


# --- The sending task and the logs -------------------------------------------


def test_send_task_logs_a_provider_failure_and_swallows_it(kavenegar, caplog):
    kavenegar.post(SEND_URL, json=_recorded("credit_exhausted"), status=418)
    caplog.set_level(logging.DEBUG)

    send_sms.delay(to=PHONE, body=MESSAGE.body, code=MESSAGE.code)

    assert "sms not sent" in caplog.text
    assert "482913" not in caplog.text
    assert "test-api-key" not in caplog.text


def test_send_task_survives_a_misconfigured_backend(settings, caplog):
    settings.SMS_BACKEND = "kavenegar"
    settings.KAVENEGAR_API_KEY = ""

    send_sms.delay(to=PHONE, body=MESSAGE.body, code=MESSAGE.code)

    assert "sms backend failed" in caplog.text
    assert "482913" not in caplog.text


@pytest.mark.django_db
def test_the_code_never_reaches_the_logs(
    kavenegar, caplog, django_capture_on_commit_callbacks
):
    kavenegar.post(SEND_URL, json=_recorded("send_ok"))
    caplog.set_level(logging.DEBUG)
    client = APIClient()

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/auth/request-otp", {"phone": PHONE})
    code = _form(kavenegar.calls[0])["message"].split(": ")[1][:6]
    client.post("/auth/verify-otp", {"phone": PHONE, "code": "000000"})
    answer = client.post("/auth/verify-otp", {"phone": PHONE, "code": code})

    assert answer.status_code == 200
    assert caplog.records
    assert code not in caplog.text
    for record in caplog.records:
        assert code not in repr(record.__dict__)
    assert answer.json()["access"] not in caplog.text


@pytest.mark.django_db
def test_a_provider_failure_does_not_reach_the_client(
    kavenegar, django_capture_on_commit_callbacks
):
    kavenegar.post(SEND_URL, json=_recorded("credit_exhausted"), status=418)

    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post("/auth/request-otp", {"phone": PHONE})

    assert response.status_code == 202
    assert len(kavenegar.calls) == 1
