from django.core.management.base import BaseCommand

from orders.services import orders_expire_overdue


class Command(BaseCommand):
    help = "Expire overdue unpaid orders and release the codes and stock they hold."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=200)

    def handle(self, *args, batch_size, **options):
        expired = orders_expire_overdue(batch_size=batch_size)
        self.stdout.write(f"{expired} orders expired")
