import contextlib
import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.deals.models import StageChange
from apps.demo.data import PLAYBOOK_NAME, QBR_PLAYBOOK_NAME
from apps.demo.services import demo_data_seed
from apps.engine.models import BulkEnrollment, Enrollment


@contextlib.contextmanager
def quiet_logger(name: str, level: int):
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


class Command(BaseCommand):
    help = (
        "Create demo users, accounts, products, deals in every stage, a published "
        "onboarding playbook, and enroll the active customers in quarterly business "
        "reviews. Safe to run again: it only adds what is missing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with AFTERWIN_PRODUCTION=1 (it creates users with known passwords).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set existing demo users' passwords back to the ones printed.",
        )

    def handle(self, *args, force: bool, reset_passwords: bool, verbosity: int, **options):
        if settings.PRODUCTION and not force:
            raise CommandError(
                "Refusing to seed demo data with AFTERWIN_PRODUCTION=1: it creates users "
                "with published passwords. Use --force if you really mean it."
            )
        # Every demo deal transition logs a line; keep the output to the summary.
        level = logging.INFO if verbosity > 1 else logging.WARNING
        with quiet_logger("apps", level):
            result = demo_data_seed(reset_passwords=reset_passwords)

        if result.created_anything:
            self.stdout.write(self.style.SUCCESS(f"Created {result.summary()}."))
        else:
            self.stdout.write("Demo data already present; nothing created.")
        # make run sets AFTERWIN_SITE_URL from WEB_BIND: the address the web process binds.
        base_url = settings.SITE_URL
        self.stdout.write("")
        self.stdout.write(f"Afterwin: {base_url}/  (CSMs: My work; CS managers: Team; reps: Deals)")
        self.stdout.write(f"Admin:    {base_url}/admin/")
        self.stdout.write(f"API docs: {base_url}/api/docs/")
        self.stdout.write("")
        # The columns are as wide as their longest entry, so every row lines up.
        name_width = max([len("username"), *(len(login.user.username) for login in result.logins)])
        role_width = max([len("role"), *(len(login.user.role) for login in result.logins)])
        self.stdout.write(f"{'username':<{name_width}} {'role':<{role_width}} password")
        self.stdout.write(f"{'-' * name_width} {'-' * role_width} {'-' * 20}")
        for login in result.logins:
            password = (
                login.user.password
                if login.password_works
                else "(changed since seeding; --reset-passwords restores it)"
            )
            self.stdout.write(
                f"{login.user.username:<{name_width}} {login.user.role:<{role_width}} {password}"
            )
        if result.created[StageChange]:
            self.stdout.write("")
            self.stdout.write(
                f"Closed-won deals emitted deal.closed_won; a running worker enrolls them "
                f"in “{PLAYBOOK_NAME}”."
            )
        if result.created[BulkEnrollment]:
            self.stdout.write(
                f"{result.created[Enrollment]} active customers were enrolled in "
                f"“{QBR_PLAYBOOK_NAME}” through bulk enrollment (admin: Engine → Bulk "
                "enrollments)."
            )
