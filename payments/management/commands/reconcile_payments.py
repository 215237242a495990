from django.core.management.base import BaseCommand

from payments.services import payments_reconcile


class Command(BaseCommand):
    help = "Ask the gateways about payments left initiated and settle them."

    def handle(self, *args, **options):
        settled = payments_reconcile()
        summary = ", ".join(f"{status}: {count}" for status, count in settled.items())
        self.stdout.write(summary or "nothing to reconcile")
