"""``make fuzz``: schemathesis against a real server, signed in as a customer.

Creates the dedicated database ``mithrapay_fuzz`` (``FUZZ_DB_NAME``) beside
the one ``DATABASE_URL`` names, migrates it and seeds the demo catalog,
registers a customer and mints its access token, starts gunicorn under
production settings on 127.0.0.1, then runs every phase of schemathesis
(examples, coverage, fuzzing, stateful) with every check, as configured in
``fuzz/schemathesis.toml``. Exits with schemathesis's status, so any failure
fails CI; stops the server however the run ends.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from e2e.stack import BASE_DIR, BIN, Stack, StackError

logger = logging.getLogger("fuzz")

# The fuzz server raises every rate so limits do not hide the other checks;
# 429 stays an allowed answer in the configuration.
GENEROUS_LIMITS = {
    "THROTTLE_ORDER_CREATE": "100000/hour",
    "THROTTLE_REGISTER": "100000/hour",
    "THROTTLE_LOGIN_FAILURES_ACCOUNT": "100000/hour",
    "THROTTLE_LOGIN_FAILURES_IP": "100000/hour",
    "THROTTLE_OTP_PHONE": "100000/hour",
    "THROTTLE_OTP_IP": "100000/hour",
    "OTP_RESEND_SECONDS": "1",
    "MAX_PENDING_ORDERS": "100",
    # One token lasts the whole run.
    "JWT_ACCESS_SECONDS": "7200",
}

CUSTOMER = """
import json, secrets
from accounts import services, tokens
from accounts.models import User
from blog import services as blog_services
from catalog.models import Product, Variant
from mithrapay.errors import ApplicationError
from orders import services as order_services
user = services.user_register(
    email="fuzz-customer@example.com", password=secrets.token_urlsafe(24)
)
# A few of the customer's own orders and some published posts, so the
# operations addressed by an order number or a post slug reach real ones
# in every phase, not only where a link hands one on.
orders = []
for variant in Variant.objects.filter(fulfilment="code").order_by("pk"):
    if len(orders) == 3:
        break
    try:
        placed = order_services.order_create(
            user=user, lines=[{"variant": variant.pk, "quantity": 1}]
        )
    except ApplicationError:
        continue
    orders.append(placed.number)
author = User.objects.create_user(
    email="fuzz-author@example.com",
    password=secrets.token_urlsafe(24),
    is_staff=True,
)
posts = [
    blog_services.post_create(
        author=author,
        title=f"Fuzz post {number}",
        body="A published post for the fuzz run.",
        status="published",
    ).slug
    for number in range(3)
]
print(json.dumps({
    "access": tokens.issue_pair(user)["access"],
    "variants": list(Variant.objects.order_by("pk").values_list("pk", flat=True)),
    "products": list(Product.objects.order_by("pk").values_list("slug", flat=True)),
    "orders": orders,
    "posts": posts,
}))
"""


def _dictionary(values) -> str:
    return "".join(f'"{value}"\n' for value in values)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="[fuzz] %(message)s")
    stack = Stack(
        db_name=os.environ.get("FUZZ_DB_NAME", "mithrapay_fuzz"),
        redis_db=int(os.environ.get("FUZZ_REDIS_DB", "12")),
        extra_env=GENEROUS_LIMITS,
    )
    work = Path(tempfile.mkdtemp(prefix="mithrapay-fuzz-"))
    try:
        logger.info("preparing %s", stack.db_name)
        stack.prepare()
        seeded = stack.manage_json(CUSTOMER)
        shutil.copy(BASE_DIR / "fuzz" / "schemathesis.toml", work)
        shutil.copy(BASE_DIR / "fuzz" / "hooks.py", work)
        (work / "variants.dict").write_text(_dictionary(seeded["variants"]))
        (work / "products.dict").write_text(_dictionary(seeded["products"]))
        (work / "orders.dict").write_text(_dictionary(seeded["orders"]))
        (work / "posts.dict").write_text(_dictionary(seeded["posts"]))

        stack.start_gunicorn(log_dir=work)
        logger.info("server on %s, logs in %s", stack.base_url, work)
        result = subprocess.run(  # noqa: S603
            [
                str(BIN / "schemathesis"),
                "--config-file",
                str(work / "schemathesis.toml"),
                "run",
                f"{stack.base_url}/api/schema/",
                "--report",
                "junit,ndjson",
                "--report-dir",
                str(work / "report"),
                *sys.argv[1:],
            ],
            cwd=work,
            env={
                **os.environ,
                "FUZZ_ACCESS_TOKEN": seeded["access"],
                "FUZZ_VARIANTS": ",".join(map(str, seeded["variants"])),
            },
            check=False,
        )
        server_errors = _server_errors(work / "gunicorn.log")
        if server_errors:
            logger.error("the server logged %d errors:\n%s", *server_errors)
            return result.returncode or 1
        return result.returncode
    except StackError as exc:
        logger.error("%s", exc)
        return 2
    finally:
        stack.stop()


def _server_errors(log: Path) -> tuple[int, str] | None:
    """Errors the server logged (a 500 schemathesis might not have seen)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") in ("ERROR", "CRITICAL"):
            cause = (record.get("exc_info") or "").strip().splitlines()[-1:]
            found.append(f"{record.get('message')} {' '.join(cause)}")
    if not found:
        return None
    return len(found), "\n".join(found[:20])


if __name__ == "__main__":
    sys.exit(main())
