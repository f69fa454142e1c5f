"""The "Head office" group also manages sign-in: OAuth applications, grants and tokens.

Revoking a client's token is head office's job, as it is for bearer tokens; ID tokens
(OpenID Connect, unused here) stay with superusers.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Head office"
MODELS = ("application", "grant", "accesstoken", "refreshtoken")


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=GROUP)
    permissions = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="oauth2_provider", content_type__model__in=MODELS
    )
    group.permissions.add(*permissions)


def backwards(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP).first()
    if group is not None:
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label="oauth2_provider")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("retail", "0006_head_office_group"),
        ("oauth2_provider", "0022_refreshtoken_token_family_index"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
