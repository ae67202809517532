from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks import surveys
from apps.benchmarks.commands import require_bench_database, write_report


class Command(BaseCommand):
    help = (
        "Write N survey responses (PostgreSQL generates them), then time the Responses "
        "page (first page, filtered, last page) and the metrics (overall, by month, "
        "segment, CSM, and through the API): p50, p95 and max in milliseconds."
    )

    def add_arguments(self, parser):
        parser.add_argument("--responses", type=int, default=1_000_000)
        parser.add_argument("--repeats", type=int, default=20, help="timings per check")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--force", action="store_true", help="run on a database with data")
        parser.add_argument("--keep", action="store_true", help="keep the rows it created")

    def handle(self, *args, **options):
        if options["responses"] < 1 or options["repeats"] < 1:
            raise CommandError("--responses and --repeats must be at least 1.")
        require_bench_database(command="survey_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        try:
            result = surveys.run(
                responses=options["responses"], repeats=options["repeats"], log=log
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        finally:
            if not options["keep"]:
                surveys.bench_data_delete()
        write_report(self.stdout, asdict(result), as_json=options["json"])
