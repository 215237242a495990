from payments import services
from payments.gateways.sandbox import sandbox_decide

BASE_URL = "http://testserver/"


def start(order, user, gateway="sandbox"):
    return services.payment_start(
        order=order, user=user, gateway_name=gateway, base_url=BASE_URL
    )


def pay_at_sandbox(payment, *, pay=True):
    sandbox_decide(authority=payment.authority, pay=pay)
    return {"Authority": payment.authority, "Status": "OK" if pay else "NOK"}
