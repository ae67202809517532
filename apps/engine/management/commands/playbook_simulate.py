import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ValidationFailed
from apps.deals.models import Deal
from apps.engine.simulation import playbook_simulate, timeline_as_text
from apps.playbooks.models import Playbook


class Command(BaseCommand):
    help = (
        "Show, day by day, what a playbook's current draft would do for a deal. Runs the real "
        "engine on a virtual clock in a transaction that is rolled back: nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("playbook", help="the playbook's name")
        parser.add_argument("--deal", type=int, help="a deal id (default: a sample deal)")
        parser.add_argument("--days", type=int, default=180, help="how far to look (days)")
        parser.add_argument(
            "--start", help="enrollment moment, ISO 8601 (default: today 09:00 UTC)"
        )
        parser.add_argument(
            "--answer",
            action="append",
            default=[],
            metavar="SURVEY=SCORE",
            help="what the customer answers when asked, e.g. --answer nps=3 (or nps=none: "
            "no answer); may be given once per survey type",
        )

    def handle(self, *args, **options):
        playbook = Playbook.objects.filter(name=options["playbook"]).first()
        if playbook is None:
            known = ", ".join(Playbook.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"No playbook named “{options['playbook']}” (known: {known}).")
        deal = None
        if options["deal"] is not None:
            deal = Deal.objects.select_related("account").filter(pk=options["deal"]).first()
            if deal is None:
                raise CommandError(f"--deal: there is no deal with id {options['deal']}.")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        start = None
        if options["start"]:
            try:
                start = dt.datetime.fromisoformat(options["start"])
            except ValueError:
                raise CommandError(
                    f"--start: “{options['start']}” is not an ISO date-time."
                ) from None
            if start.tzinfo is None:
                start = start.replace(tzinfo=dt.UTC)
        answers = {}
        for item in options["answer"]:
            name, sep, value = item.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise CommandError(f"--answer: “{item}” is not SURVEY=SCORE, e.g. nps=3.")
            answers[name.strip().lower()] = value.strip().lower()
        try:
            rows = playbook_simulate(
                playbook=playbook, deal=deal, days=options["days"], start=start, answers=answers
            )
        except ValidationFailed as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            raise CommandError(f"{exc.message} {problems}") from None
        target = f"deal {deal.pk} ({deal.account})" if deal else "a sample deal (Europe/Berlin)"
        self.stdout.write(f"{playbook.name} for {target}, {options['days']} days:\n")
        self.stdout.write(timeline_as_text(rows))
