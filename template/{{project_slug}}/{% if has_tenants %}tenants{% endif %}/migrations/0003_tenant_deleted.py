from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0002_invitation"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="deleted",
            field=models.DateTimeField(blank=True, null=True, verbose_name="deleted"),
        ),
    ]
