"""Ownership: a rep acts on the deals they own; the new Sales Manager role, CS managers and
admins act on every deal. Contacts are edited by those who cover the account, or with
``customers.act_on_any_account``; clearing an unsubscribe takes
``customers.resubscribe_contact``. Everyone who reads deals reads their field changes
and the accounts' lifecycle moves."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

READ = {
    "deals": ["view_dealfieldchange"],
    "customers": ["view_accountlifecyclechange"],
}
GRANTS = {
    "Admin": {
        "deals": ["act_on_any_deal"],
        "customers": ["act_on_any_account", "resubscribe_contact"],
    },
    "CS Manager": {"deals": ["act_on_any_deal"], "customers": ["act_on_any_account"]},
    "CSM": {},
    "Sales Rep": {},
    "Sales Manager": {
        "deals": ["act_on_any_deal", "reopen_deal"],
        "customers": ["act_on_any_account"],
    },
}


def grant(apps, schema_editor) -> None:
    for label in ("deals", "customers"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    rep = Group.objects.filter(name="Sales Rep").first()
    if rep is None:
        return  # the roles migration makes the groups; without them there is nobody to grant
    manager, created = Group.objects.get_or_create(name="Sales Manager")
    if created:
        # What a rep may do, on every deal.
        manager.permissions.set(rep.permissions.all())
    for role, extra in GRANTS.items():
        group = Group.objects.filter(name=role).first()
        if group is None:
            continue
        for label in ("deals", "customers"):
            codenames = [*READ[label], *extra.get(label, [])]
            group.permissions.add(
                *Permission.objects.filter(content_type__app_label=label, codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("deals", "0003_deal_records"),
        ("customers", "0004_records_and_lifecycle"),
        ("queues", "0005_open_task_order_indexes"),
        ("growth", "0006_referral_perms_and_queue"),
        ("notifications", "0005_alter_notification_reason"),
        ("surveys", "0003_role_perms"),
        ("engine", "0009_step_run_run_now"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
