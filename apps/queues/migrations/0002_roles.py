"""Create the role groups (Admin, CS Manager, CSM, Sales Rep) with their permissions.

Permissions are normally created after all migrations (post_migrate); they are created
here first so that a fresh database gets complete groups from ``migrate`` alone.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW_CUSTOMERS = [
    "customers.view_account",
    "customers.view_contact",
    "customers.view_product",
    "customers.view_productfamily",
]
VIEW_DEALS = [
    "deals.view_deal",
    "deals.view_deallineitem",
    "deals.view_stagechange",
    "deals.view_winreason",
    "deals.view_lossreason",
]
VIEW_PLAYBOOKS = [
    "playbooks.view_playbook",
    "playbooks.view_playbookstep",
    "playbooks.view_playbookversion",
    "engine.view_enrollment",
    "engine.view_steprun",
]
WORK_TASKS = ["queues.view_queue", "queues.view_task", "queues.add_task", "queues.change_task"]

ROLES = {
    "Admin": "__all__",
    "CS Manager": [
        *VIEW_CUSTOMERS,
        "customers.change_account",
        "customers.add_contact",
        "customers.change_contact",
        *VIEW_DEALS,
        "deals.reopen_deal",
        *VIEW_PLAYBOOKS,
        *WORK_TASKS,
        "queues.change_queue",
    ],
    "CSM": [
        *VIEW_CUSTOMERS,
        "customers.add_contact",
        "customers.change_contact",
        *VIEW_DEALS,
        *VIEW_PLAYBOOKS,
        *WORK_TASKS,
    ],
    "Sales Rep": [
        *VIEW_CUSTOMERS,
        "customers.add_account",
        "customers.change_account",
        "customers.add_contact",
        "customers.change_contact",
        *VIEW_DEALS,
        "deals.add_deal",
        "deals.change_deal",
        "deals.close_deal",
        "deals.add_deallineitem",
        "deals.change_deallineitem",
        "deals.delete_deallineitem",
        "queues.view_task",
        "queues.change_task",
    ],
}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        if codes == "__all__":
            group.permissions.set(Permission.objects.all())
            continue
        perms = []
        for code in codes:
            app_label, codename = code.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0001_initial"),
        ("deals", "0001_initial"),
        ("playbooks", "0001_initial"),
        ("engine", "0001_initial"),
        ("queues", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
