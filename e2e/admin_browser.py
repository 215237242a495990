"""The back office in a real browser: Debian's Chromium driven by Playwright.

    make e2e-admin
    .venv/bin/python e2e/admin_browser.py [--keep] [--dashboard-png docs/dashboard.png]

Starts the shop on a free 127.0.0.1 port with a throw-away SQLite database
(migrated, roles set up, the demo catalog and demo sales seeded), a
superuser and a Finance user, then walks: sign-in → dashboard (its chart
drawn) → orders → an order → the fulfilment queue (an activation recorded)
→ as Finance, a code revealed with a reason. It fails on any error page,
any failed request of the shop and any console error, saves a screenshot of
each step in e2e-artifacts/, and stops everything it started.
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ARTIFACTS = BASE_DIR / "e2e-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("admin@e2e.example.com", "e2e-admin-Pa55word")
FINANCE = ("finance@e2e.example.com", "e2e-finance-Pa55word")

CREATE_STAFF = """
from django.contrib.auth.models import Group
from accounts.models import User
User.objects.create_superuser(email={admin!r}, password={admin_password!r})
finance = User.objects.create_user(
    email={finance!r}, password={finance_password!r}, is_staff=True
)
finance.groups.add(Group.objects.get(name="Finance"))
"""


class CheckFailed(AssertionError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shop_env(folder: Path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DB_HOST")
    }
    env.update(
        ENV_FILE="/dev/null",
        APP_ENV="development",
        DEBUG="false",
        SQLITE_PATH=str(folder / "shop.sqlite3"),
        MEDIA_ROOT=str(folder / "media"),
        SMS_BACKEND="file",
        SMS_FILE_PATH=str(folder / "sms"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        TIME_ZONE=os.environ.get("TIME_ZONE", "Asia/Tehran"),
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, log, *args: str) -> None:
    subprocess.run(  # noqa: S603 - this project's own manage.py
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        check=True,
    )


def prepare(env: dict, log) -> None:
    manage(env, log, "migrate", "--no-input")
    manage(env, log, "setup_roles")
    manage(env, log, "seed_demo")
    manage(env, log, "seed_demo_sales")
    script = CREATE_STAFF.format(
        admin=ADMIN[0],
        admin_password=ADMIN[1],
        finance=FINANCE[0],
        finance_password=FINANCE[1],
    )
    manage(env, log, "shell", "-c", script)


def start_server(env: dict, port: int, log) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "mithrapay.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--timeout",
            "60",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed("the server stopped while starting; see server.log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    raise CheckFailed("the server did not answer within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


class Walk:
    """One browser tab that records every problem it sees on the way."""

    def __init__(self, page: Page, base: str):
        self.page = page
        self.base = base
        self.problems: list[str] = []
        self.step = 0
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._response)

    def _console(self, message) -> None:
        # Chromium asks every site for /favicon.ico; the shop serves none.
        if message.type == "error" and "favicon.ico" not in message.location.get(
            "url", ""
        ):
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _response(self, response) -> None:
        mine = response.url.startswith(self.base) and "favicon" not in response.url
        if mine and response.status >= 400:
            self.problems.append(f"{response.status} from {response.url}")

    def check(self, name: str, *, heading: str | None = None) -> None:
        """The current page is a back-office page, not an error; screenshot it."""
        self.step += 1
        body = self.page.content()
        for marker in ("Server Error", "Traceback", '"code": "server_error"'):
            if marker in body:
                self.problems.append(f"{name}: an error page ({marker})")
        if not self.page.locator("#content").count():
            self.problems.append(f"{name}: no admin content on {self.page.url}")
        if heading and heading.lower() not in self.page.inner_text("body").lower():
            self.problems.append(f"{name}: {heading!r} not on {self.page.url}")
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.step:02d}-{name}.png"), full_page=True
        )

    def sign_in(self, email: str, password: str) -> None:
        self.page.goto(f"{self.base}/admin/login/")
        self.page.fill("#id_username", email)
        self.page.fill("#id_password", password)
        self.page.click("input[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def sign_out(self) -> None:
        self.page.click("#logout-form button")
        self.page.wait_for_load_state("networkidle")


def walk(page: Page, base: str, dashboard_png: Path | None) -> list[str]:
    tab = Walk(page, base)

    tab.sign_in(*ADMIN)
    page.wait_for_function(
        "window.Chart && Chart.getChart(document.getElementById('sales-chart'))"
    )
    tab.check("dashboard", heading="Daily sales")
    if dashboard_png:
        page.screenshot(path=str(dashboard_png))

    page.goto(f"{base}/admin/orders/order/")
    tab.check("orders", heading="Select order")
    page.click("#result_list tbody tr th a >> nth=0")
    page.wait_for_load_state("networkidle")
    tab.check("order", heading="Order items")

    page.goto(f"{base}/admin/orders/fulfilmentitem/")
    tab.check("fulfilment-queue", heading="fulfil")
    page.click("a.button:has-text('Activate') >> nth=0")
    tab.check("fulfil-form", heading="activation details")
    page.fill("#id_details", "Family plan activated on the customer's account")
    page.click("input[type=submit].default")
    page.wait_for_load_state("networkidle")
    tab.check("fulfilled", heading="is done")

    tab.sign_out()
    tab.sign_in(*FINANCE)
    page.goto(f"{base}/admin/catalog/digitalcode/?status__exact=sold")
    tab.check("codes", heading="••••")
    page.click("#result_list a[href$='/reveal/'] >> nth=0")
    tab.check("reveal-form", heading="reason")
    page.fill("#id_reason", "Customer reports the code as already redeemed")
    page.click("input[type=submit].default")
    page.wait_for_load_state("networkidle")
    tab.check("revealed", heading="recorded")
    if not page.locator("[data-secret=code]").inner_text().strip():
        tab.problems.append("revealed: no code shown")
    page.goto(f"{base}/admin/catalog/codereveal/")
    tab.check("reveal-audit", heading="already redeemed")
    return tab.problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument(
        "--dashboard-png", type=Path, help="also save the dashboard's picture here"
    )
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)  # noqa: T201
        return 2

    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    folder = Path(tempfile.mkdtemp(prefix="mithrapay-e2e-admin-"))
    env = shop_env(folder)
    port = free_port()
    server = None
    with open(ARTIFACTS / "server.log", "w") as log:
        try:
            prepare(env, log)
            server = start_server(env, port, log)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                try:
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    problems = walk(
                        page, f"http://127.0.0.1:{port}", options.dashboard_png
                    )
                finally:
                    browser.close()
        finally:
            if server is not None:
                stop_server(server)
            if not options.keep:
                shutil.rmtree(folder, ignore_errors=True)

    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)  # noqa: T201
    steps = len(list(ARTIFACTS.glob("*.png")))
    print(  # noqa: T201
        f"admin browser check: {steps} steps, {len(problems)} problems; "
        f"screenshots in {ARTIFACTS}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
