"""Accounts made before allauth keep logging in: their addresses count as verified.

allauth lets a user log in only with a verified address, and knows addresses from its own
table, which starts empty. Users who could log in before (with the address their account
was made with, by an operator or `seed_demo`) get that address as their verified one.
"""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def verify_existing_addresses(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    database = schema_editor.connection.alias
    User = apps.get_model("accounts", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    users = User.objects.using(database).filter(emailaddress__isnull=True)
    EmailAddress.objects.using(database).bulk_create(
        EmailAddress(user=user, email=user.email.lower(), primary=True, verified=True)
        for user in users.only("pk", "email").iterator()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [
        migrations.RunPython(verify_existing_addresses, migrations.RunPython.noop, elidable=True),
    ]
