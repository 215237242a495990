"""``manage.py seed_demo_sales``: demo customers, orders and payments for the
back office, on top of ``seed_demo``'s catalog; safe to run again.

Everything goes through the real services: checkout reserves codes and
stock, the sandbox gateway takes the payment and its callback fulfils the
order, so the fulfilment queue, the payments and the dashboard show what the
shop would. Only the paid times are moved afterwards, spread over the last
weeks so the dashboard's chart has a shape.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import User
from catalog.models import Variant
from orders import services as order_services
from orders.models import Order
from payments import services
from payments.gateways.sandbox import sandbox_decide

CUSTOMERS = 8
EMAIL = "demo-customer-{n}@example.com"
PHONE = "+98912555{n:04d}"
BASE_URL = "http://127.0.0.1:8000/"
ADDRESS = {
    "name": "Demo customer",
    "phone": "+989125550000",
    "line1": "No. 12, Vali-e Asr Ave",
    "city": "Tehran",
    "postal_code": "1416753955",
    "country": "IR",
}

# (customer, SKU, quantity, inputs, paid days ago or None for unpaid)
ORDERS = (
    (0, "APPLE-US-10", 1, {}, 0),
    (1, "APPLE-US-25", 2, {}, 0),
    (2, "GOOGLE-DE-10", 1, {}, 1),
    (3, "NETFLIX-PREMIUM-1M", 1, {}, 2),
    (4, "GOOGLE-US-25", 1, {}, 4),
    (5, "STEAM-US-20", 1, {}, 7),
    (6, "APPLE-US-10", 3, {}, 11),
    (7, "NETFLIX-PREMIUM-1M", 1, {}, 16),
    (0, "STEAM-US-20", 1, {}, 23),
    (1, "SPOTIFY-12M", 1, {"account_email": "listener@example.com"}, 0),
    (2, "SPOTIFY-12M", 1, {"account_email": "family@example.com"}, 1),
    (3, "CABLE-USBC-1M", 2, {}, 0),
    (4, "CABLE-USBC-1M", 1, {}, 3),
    (5, "APPLE-US-25", 1, {}, None),
    (6, "CABLE-USBC-1M", 1, {}, None),
)


class Command(BaseCommand):
    help = (
        "Create demo customers with paid, waiting and unpaid orders through "
        "the sandbox gateway; running it again adds nothing twice."
    )

    def handle(self, *args, **options):
        emails = [EMAIL.format(n=n) for n in range(CUSTOMERS)]
        if Order.objects.filter(user__email__in=emails).exists():
            self.stdout.write("Demo sales: already there, nothing added.")
            return
        variants = Variant.objects.in_bulk(
            {sku for _, sku, *_rest in ORDERS}, field_name="sku"
        )
        missing = {sku for _, sku, *_rest in ORDERS} - set(variants)
        if missing:
            raise CommandError(
                "Run `manage.py seed_demo` first: missing " + ", ".join(sorted(missing))
            )
        customers = [self._customer(n) for n in range(CUSTOMERS)]

        now = timezone.now()
        paid = unpaid = 0
        for who, sku, quantity, inputs, days_ago in ORDERS:
            variant = variants[sku]
            order = order_services.order_create(
                user=customers[who],
                lines=[{"variant": variant.pk, "quantity": quantity, "inputs": inputs}],
                shipping_address=(
                    ADDRESS
                    if variant.fulfilment == Variant.Fulfilment.SHIPMENT
                    else None
                ),
            )
            if days_ago is None:
                unpaid += 1
                continue
            self._pay(order, customers[who])
            moment = now - timedelta(days=days_ago, minutes=7 * (paid + 1))
            Order.objects.filter(pk=order.pk).update(created_at=moment, paid_at=moment)
            paid += 1
        self.stdout.write(
            f"Demo sales: {CUSTOMERS} customers, {paid} paid and {unpaid} unpaid "
            "orders added."
        )

    def _customer(self, n: int) -> User:
        user = User.objects.filter(email=EMAIL.format(n=n)).first()
        if user is None:
            user = User.objects.create_user(
                email=EMAIL.format(n=n),
                phone=PHONE.format(n=n),
                first_name="Demo",
                last_name=f"Customer {n}",
                is_phone_verified=True,
            )
        return user

    def _pay(self, order: Order, user: User) -> None:
        payment, _url = services.payment_start(
            order=order, user=user, gateway_name="sandbox", base_url=BASE_URL
        )
        sandbox_decide(authority=payment.authority, pay=True)
        outcome = services.payment_callback(
            gateway_name="sandbox",
            data={"Authority": payment.authority, "Status": "OK"},
        )
        if outcome.status != "paid":
            raise CommandError(f"demo order {order.number} was not paid: {outcome}")
