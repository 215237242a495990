"""``make e2e``: a customer's whole journey against the real processes.

Starts, under production settings (``APP_ENV=production``, throw-away secrets,
the sandbox gateway switched on), gunicorn and a Celery worker on a dedicated
MariaDB database (``mithrapay_e2e``, ``E2E_DB_NAME``) and Redis database,
with texts written to files. Then, over HTTP with ``requests`` as the shop's
app or a browser would:

register → ask for a code and sign in with it (read from the SMS file, so
the text went through the broker and the worker) → browse → order a gift
card and a subscription that staff activate → pay at the sandbox gateway's
page (its form, its CSRF cookie and token, every redirect) → read the code →
order again and cancel → staff activate the subscription → see it in
``/subscriptions/`` → sign out.

Any unexpected status stops the run with the answer printed; the processes
are stopped however it ends.
"""

import logging
import os
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from e2e.stack import Stack, StackError

logger = logging.getLogger("e2e.journey")

PHONE = "+989121234567"
EMAIL = "e2e-customer@example.com"
ACCOUNT_EMAIL = "family-plan@example.com"

# The staff step. Staff activate a manual subscription in the admin (the
# back-office run drives those screens in Chromium); here the same service
# the admin calls, through manage.py, keeps this run about the customer.
STAFF_ACTIVATES = """
import json
from accounts.models import User
from orders import services
from orders.models import OrderItem
staff, _ = User.objects.get_or_create(
    email="e2e-staff@example.com", defaults={{"is_staff": True}}
)
item = OrderItem.objects.get(order__number={number!r}, fulfilment="manual")
services.fulfil_manual_item(
    item=item, staff=staff, details={{"note": "activated on the family plan"}}
)
print(json.dumps({{"item": item.pk}}))
"""


class JourneyFailed(AssertionError):
    pass


def expect(response: requests.Response, status: int) -> requests.Response:
    if response.status_code != status:
        raise JourneyFailed(
            f"{response.request.method} {urlsplit(response.url).path} answered "
            f"{response.status_code}, expected {status}: {response.text[:500]}"
        )
    return response


def check(condition: bool, what: str) -> None:
    if not condition:
        raise JourneyFailed(what)


class Customer:
    """The shop's app: JSON, a bearer token once signed in."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Accept"] = "application/json"

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def get(self, path, status=200, **kwargs):
        return expect(self.http.get(self.url(path), timeout=30, **kwargs), status)

    def post(self, path, body=None, status=200, **kwargs):
        response = self.http.post(self.url(path), json=body, timeout=30, **kwargs)
        return expect(response, status)

    def sign_in(self, tokens: dict) -> None:
        self.http.headers["Authorization"] = f"Bearer {tokens['access']}"


def wait_for_text(folder: Path, *, seen: set, pattern: str, timeout=30) -> str:
    """The first new text matching ``pattern`` (the worker writes it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*.txt")):
            if path in seen:
                continue
            seen.add(path)
            match = re.search(pattern, path.read_text(encoding="utf-8"))
            if match:
                return match.group(1) if match.groups() else match.group(0)
        time.sleep(0.3)
    raise JourneyFailed(f"no text matching {pattern!r} within {timeout} s")


def pick_variants(customer: Customer) -> tuple[dict, dict]:
    products = customer.get("/products/", params={"page_size": 100}).json()["results"]
    gift = subscription = None
    for product in products:
        for variant in product["variants"]:
            fields = [field["name"] for field in variant["customer_fields"]]
            if (
                product["kind"] == "gift_card"
                and variant["fulfilment"] == "code"
                and variant["in_stock"]
                and gift is None
            ):
                gift = {**variant, "product": product}
            if (
                product["kind"] == "subscription"
                and variant["fulfilment"] == "manual"
                and fields == ["account_email"]
                and subscription is None
            ):
                subscription = {**variant, "product": product}
    check(gift is not None, "the catalog lists no gift card in stock")
    check(subscription is not None, "the catalog lists no staff-activated plan")
    return gift, subscription


def pay_in_browser(base_url: str, redirect_url: str) -> str:
    """The customer's browser at the sandbox gateway: GET its page, submit
    its form with the CSRF cookie and token, follow each redirect."""
    browser = requests.Session()
    page = expect(browser.get(redirect_url, timeout=30), 200)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    check(token is not None, "the sandbox page has no CSRF token in its form")
    check("Content-Security-Policy" in page.headers, "the sandbox page has no CSP")
    # Production marks the CSRF cookie Secure. Browsers send Secure cookies
    # to 127.0.0.1 over plain HTTP (a secure context); requests does not,
    # so the cookie the page set goes with the form explicitly.
    cookie = browser.cookies.get("csrftoken")
    check(cookie is not None, "the sandbox page set no CSRF cookie")
    submitted = expect(
        browser.post(
            redirect_url,
            data={"csrfmiddlewaretoken": token.group(1), "action": "pay"},
            cookies={"csrftoken": cookie},
            headers={"Referer": redirect_url},
            allow_redirects=False,
            timeout=30,
        ),
        302,
    )
    callback = urljoin(redirect_url, submitted.headers["Location"])
    check("/payments/callback/sandbox" in callback, f"sent to {callback}")
    returned = expect(browser.get(callback, allow_redirects=False, timeout=30), 302)
    result_url = urljoin(base_url, returned.headers["Location"])
    check("status=paid" in result_url, f"the callback sent the browser to {result_url}")
    result = expect(browser.get(result_url, timeout=30), 200)
    check("is paid" in result.text, "the result page does not say paid")
    return result_url


def journey(stack: Stack, sms_folder: Path) -> None:
    customer = Customer(stack.base_url)
    texts: set = set()

    logger.info("register, then sign in with a texted code")
    customer.get("/")
    password = uuid.uuid4().hex + "Aa1!"
    body = {"email": EMAIL, "phone": PHONE, "password": password}
    customer.post("/auth/register", body, status=201)
    customer.post("/auth/request-otp", {"phone": PHONE}, status=202)
    code = wait_for_text(sms_folder, seen=texts, pattern=r"\b(\d{6})\b")
    session = customer.post("/auth/verify-otp", {"phone": PHONE, "code": code}).json()
    customer.sign_in(session)
    me = customer.get("/users/me").json()
    check(me["email"] == EMAIL and me["phone"] == PHONE, f"profile is {me}")

    logger.info("browse")
    customer.get("/categories/")
    gift, plan = pick_variants(customer)
    customer.get(f"/products/{gift['product']['slug']}")

    logger.info("order a gift card and a subscription, then pay at the gateway")
    order_body = {
        "items": [
            {"variant": gift["id"], "quantity": 1},
            {
                "variant": plan["id"],
                "quantity": 1,
                "inputs": {"account_email": ACCOUNT_EMAIL},
            },
        ]
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    order = customer.post("/orders/", order_body, status=201, headers=key).json()
    replay = customer.post("/orders/", order_body, status=201, headers=key).json()
    check(replay["number"] == order["number"], "a replayed key made a second order")
    number = order["number"]
    started = customer.post(
        f"/orders/{number}/pay", {"gateway": "sandbox"}, status=201
    ).json()
    pay_in_browser(stack.base_url, started["redirect_url"])
    wait_for_text(sms_folder, seen=texts, pattern=rf"Order {number} is paid")

    logger.info("see the code")
    paid = customer.get(f"/orders/{number}").json()
    check(paid["status"] == "partially_fulfilled", f"order is {paid['status']}")
    codes = [c for item in paid["items"] for c in item["codes"]]
    check(len(codes) == 1 and codes[0]["code"], "the paid order shows no code")

    logger.info("order again and cancel")
    other = customer.post(
        "/orders/", {"items": [{"variant": gift["id"], "quantity": 1}]}, status=201
    ).json()
    cancelled = customer.post(f"/orders/{other['number']}/cancel").json()
    check(cancelled["status"] == "cancelled", f"order is {cancelled['status']}")

    logger.info("staff activate the subscription; the customer sees it")
    stack.manage_json(STAFF_ACTIVATES.format(number=number))
    wait_for_text(sms_folder, seen=texts, pattern=r"is active")
    done = customer.get(f"/orders/{number}").json()
    check(done["status"] == "fulfilled", f"order is {done['status']}")
    plans = customer.get("/subscriptions/").json()["results"]
    check(len(plans) == 1, f"subscriptions: {plans}")
    check(plans[0]["status"] == "active", f"subscription is {plans[0]['status']}")
    check(plans[0]["account"] == ACCOUNT_EMAIL, f"subscription is {plans[0]}")
    check(plans[0]["days_left"] > 0, f"subscription is {plans[0]}")

    logger.info("sign out; the refresh token is spent")
    customer.post("/auth/logout", {"refresh": session["refresh"]}, status=205)
    customer.post("/auth/refresh", {"refresh": session["refresh"]}, status=401)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="[e2e] %(message)s")
    work = Path(tempfile.mkdtemp(prefix="mithrapay-e2e-"))
    sms_folder = work / "sms"
    try:
        stack = Stack(
            db_name=os.environ.get("E2E_DB_NAME", "mithrapay_e2e"),
            redis_db=int(os.environ.get("E2E_REDIS_DB", "11")),
            extra_env={"SMS_BACKEND": "file", "SMS_FILE_PATH": str(sms_folder)},
        )
        logger.info("preparing %s; logs in %s", stack.db_name, work)
        stack.prepare()
        stack.start_worker(log_dir=work)
        stack.start_gunicorn(log_dir=work)
        journey(stack, sms_folder)
    except (StackError, JourneyFailed, requests.RequestException) as exc:
        logger.error("%s", exc)
        logger.error("logs are in %s", work)
        return 1
    finally:
        if "stack" in locals():
            stack.stop()
    logger.info("the customer journey passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
