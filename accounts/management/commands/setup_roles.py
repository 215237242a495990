from django.core.management.base import BaseCommand, CommandError

from accounts.roles import UnknownPermission, setup_roles


class Command(BaseCommand):
    help = "Create the staff role groups and give each its declared permissions."

    def handle(self, *args, **options):
        try:
            summary = setup_roles()
        except UnknownPermission as exc:
            raise CommandError(str(exc)) from exc
        for role, count in summary.items():
            self.stdout.write(f"{role}: {count} permissions")
