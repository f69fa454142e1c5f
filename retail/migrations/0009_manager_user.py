"""A manager may be linked to one Django user, who signs in for it from MCP clients (OAuth)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("retail", "0008_rotating_signing_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="manager",
            name="user",
            field=models.OneToOneField(
                blank=True,
                help_text="The sign-in account that MCP clients' OAuth sign-in maps to this manager.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="manager",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
