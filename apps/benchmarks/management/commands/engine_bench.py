from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from apps.benchmarks.commands import require_bench_database, write_report
from apps.benchmarks.engine import Bench, as_dict


class Command(BaseCommand):
    help = (
        "Close N deals won, each enrolling in a K-step playbook, run them with real Celery "
        "workers and report throughput, first-task latency, dispatcher tick time, worker "
        "memory and duplicate effects. Uses the configured database and broker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=200)
        parser.add_argument("--steps", type=int, default=3, help="steps per playbook (chained)")
        parser.add_argument("--workers", type=int, default=2, help="worker processes")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--skip-1m", action="store_true", help="skip the 1M-row tick")
        parser.add_argument("--timeout", type=float, default=600, help="seconds to wait")
        parser.add_argument(
            "--force", action="store_true", help="run on a database with other deals"
        )
        parser.add_argument("--keep", action="store_true", help="keep the rows it created")

    def handle(self, *args, **options):
        for name in ("deals", "steps", "workers"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if connection.vendor == "sqlite" and options["workers"] > 1:
            raise CommandError(
                "--workers: SQLite has no row locks, so the embedded setup runs one worker; "
                "use --workers 1 or PostgreSQL (DATABASE_URL=postgres://…)."
            )
        require_bench_database(command="engine_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = Bench(
            deals=options["deals"], steps=options["steps"], workers=options["workers"], log=log
        )
        try:
            result = bench.run_bench(skip_1m=options["skip_1m"], timeout=options["timeout"])
        finally:
            if not options["keep"]:
                bench.clean_up()
        write_report(self.stdout, as_dict(result), as_json=options["json"])
