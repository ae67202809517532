from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from apps.benchmarks.commands import require_bench_database, write_report
from apps.benchmarks.engine import (
    KINDS,
    Bench,
    BenchOptions,
    PlaybookShape,
    as_dict,
    bench_data_delete,
)


class Command(BaseCommand):
    help = (
        "Close deals won, each enrolling in a playbook (by default the demo's task, email "
        "and reminder), run them with real Celery workers and report throughput, "
        "first-task latency, statements per step, the Celery and database ceilings, "
        "dispatcher tick time, worker memory and duplicate effects. Burst mode (default) "
        "closes --deals deals at once; --rate R --seconds S closes R a second for S "
        "seconds. Uses the configured database and broker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--deals", type=int, default=200, help="burst: deals to close")
        parser.add_argument(
            "--close",
            choices=["before", "during"],
            default="before",
            help="burst: close every deal before the workers start (the clock starts with "
            "them), or during, as fast as the bench can, with the workers running",
        )
        parser.add_argument("--rate", type=float, help="closes per second (with --seconds)")
        parser.add_argument("--seconds", type=float, help="how long to close at --rate")
        parser.add_argument(
            "--kinds",
            default=",".join(KINDS),
            help="the playbook's step kinds, in turn (default: task,email,reminder)",
        )
        parser.add_argument("--steps", type=int, default=3, help="steps per playbook")
        parser.add_argument("--chain", action="store_true", help="each step after the previous one")
        parser.add_argument("--workers", type=int, default=2, help="worker processes")
        parser.add_argument(
            "--noop-tasks", type=int, default=2000, help="no-op tasks for celery_noop_per_s"
        )
        parser.add_argument(
            "--claim-rows", type=int, default=20_000, help="rows for pg_claim_rows_per_s (0: skip)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--skip-ticks", action="store_true", help="skip the tick timings")
        parser.add_argument("--skip-1m", action="store_true", help="skip the 1M-row tick")
        parser.add_argument(
            "--timeout", type=float, default=1800, help="seconds to wait for the steps"
        )
        parser.add_argument(
            "--settle-timeout",
            type=float,
            default=600,
            help="seconds to wait afterwards for the queues to empty (email deliveries)",
        )
        parser.add_argument(
            "--force", action="store_true", help="run on a database with other deals"
        )
        parser.add_argument("--keep", action="store_true", help="keep the rows it created")

    def handle(self, *args, **options):
        for name in ("deals", "steps", "workers"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        if (options["rate"] is None) != (options["seconds"] is None):
            raise CommandError("--rate and --seconds go together: --rate 50 --seconds 60.")
        if options["rate"] is not None and (options["rate"] <= 0 or options["seconds"] <= 0):
            raise CommandError("--rate and --seconds must be above 0.")
        kinds = tuple(kind.strip() for kind in options["kinds"].split(",") if kind.strip())
        unknown = [kind for kind in kinds if kind not in KINDS]
        if not kinds or unknown:
            raise CommandError(f"--kinds: choose among {', '.join(KINDS)}.")
        if connection.vendor == "sqlite" and options["workers"] > 1:
            raise CommandError(
                "--workers: SQLite has no row locks, so the embedded setup runs one worker; "
                "use --workers 1 or PostgreSQL (DATABASE_URL=postgres://…)."
            )
        require_bench_database(command="engine_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = Bench(
            options=BenchOptions(
                deals=options["deals"],
                shape=PlaybookShape(kinds=kinds, steps=options["steps"], chained=options["chain"]),
                workers=options["workers"],
                close=options["close"],
                rate=options["rate"],
                seconds=options["seconds"],
                noop_tasks=options["noop_tasks"],
                claim_rows=options["claim_rows"],
                ticks=not options["skip_ticks"],
                tick_1m=not options["skip_1m"],
                timeout=options["timeout"],
                settle_timeout=options["settle_timeout"],
            ),
            log=log,
        )
        try:
            result = bench.run_bench()
        finally:
            if not options["keep"]:
                bench_data_delete()
        write_report(self.stdout, as_dict(result), as_json=options["json"])
