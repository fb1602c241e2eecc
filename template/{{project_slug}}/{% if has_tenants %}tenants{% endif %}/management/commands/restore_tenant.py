"""Bring a deleted tenant back into service, within its grace period."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...services import DeletionError, organisation_restore


class Command(BaseCommand):
    help = "Restore a tenant its owner deleted, before it is purged."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="Subdomain of the tenant, e.g. acme")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = organisation_restore(slug=options["slug"])
        except DeletionError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Restored tenant {tenant.slug!r} ({tenant.name})."))
