"""The audit keeps the name and version a 2026-07-28 client gives on each request."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("retail", "0014_audit_named_for_requests"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditedrequest",
            name="client",
            field=models.CharField(
                blank=True,
                db_default="",
                help_text="The name and version the client gave (MCP 2026-07-28 clientInfo), as it said.",
                max_length=200,
                verbose_name="client (unverified)",
            ),
        ),
    ]
