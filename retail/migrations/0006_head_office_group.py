"""The "Head office" group: may add, change and delete everything in the Zava admin.

Other staff get read-only views without any group (see ``retail.admin.base``). The
audit of tool calls stays read-only for everyone, so the group only views it.
Managing admin accounts (django.contrib.auth) is left to superusers: a group that
could edit users could make itself superuser.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Head office"
RETAIL_MODELS = (
    "store",
    "manager",
    "managerstore",
    "accesstoken",
    "category",
    "producttype",
    "product",
    "productembedding",
    "customer",
    "order",
    "orderitem",
    "inventory",
)
VIEW_ONLY = (("retail", "toolcall"), ("admin", "logentry"))


def forwards(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    full = Permission.objects.filter(
        content_type__app_label="retail", content_type__model__in=RETAIL_MODELS
    )
    view = [
        Permission.objects.get(
            content_type__app_label=app_label,
            content_type__model=model,
            codename=f"view_{model}",
        )
        for app_label, model in VIEW_ONLY
    ]
    group.permissions.add(*full, *view)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("retail", "0005_data_version"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
