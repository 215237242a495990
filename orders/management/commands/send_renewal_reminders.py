from django.core.management.base import BaseCommand

from orders.services import renewal_reminders_send


class Command(BaseCommand):
    help = "Remind customers whose subscription ends within RENEWAL_REMINDER_DAYS."

    def handle(self, *args, **options):
        sent = renewal_reminders_send()
        self.stdout.write(f"{sent} reminders sent")
