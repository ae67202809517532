from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks.soak import ApiError, soak_run


class Command(BaseCommand):
    help = (
        "Against a running `make run`, close a deal won through the REST API every few "
        "seconds, then check that every closed deal has its onboarding task; report the "
        "close-to-task latency, HTTP errors and whether web, worker and beat are still up. "
        "Exits non-zero on any problem. The deals it creates (named 'Soak …') stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=float, default=30, help="how long to close deals")
        parser.add_argument("--every", type=float, default=3, help="seconds between closes")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--username", default="rita.rep", help="a sales rep's login")
        parser.add_argument("--password", default="summit-falcon-6035")
        parser.add_argument(
            "--settle",
            type=float,
            default=60,
            help="seconds to wait after the last close for the last tasks",
        )
        parser.add_argument(
            "--force", action="store_true", help="run with production settings anyway"
        )

    def handle(self, *args, **options):
        if options["minutes"] <= 0 or options["every"] <= 0:
            raise CommandError("--minutes and --every must be more than 0.")
        if settings.PRODUCTION and not options["force"]:
            raise CommandError(
                "soak creates deals and accounts through the API; refusing with production "
                "settings (AFTERWIN_PRODUCTION=1) unless given --force."
            )
        try:
            report = soak_run(
                base_url=options["base_url"],
                username=options["username"],
                password=options["password"],
                minutes=options["minutes"],
                every=options["every"],
                settle=options["settle"],
                log=self.stdout.write,
            )
        except ApiError as exc:
            raise CommandError(f"soak could not start: {exc}") from None
        for line in report.lines():
            self.stdout.write(line)
        problems = report.problems()
        if problems:
            raise CommandError("soak FAILED: " + " ".join(problems))
        self.stdout.write(self.style.SUCCESS("soak passed"))
