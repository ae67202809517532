from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks.account_page import AccountPageBench, as_dict
from apps.benchmarks.commands import require_bench_database, write_report


class Command(BaseCommand):
    help = (
        "Give one account N tasks (a million by default) and report the server time "
        "(p50/p95) of its account page over N requests, and its query count."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, default=1_000_000)
        parser.add_argument("--requests", type=int, default=100, help="timed requests")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--force", action="store_true", help="run on a database with data")
        parser.add_argument("--keep", action="store_true", help="keep the rows it created")

    def handle(self, *args, **options):
        if options["tasks"] < 1 or options["requests"] < 1:
            raise CommandError("--tasks and --requests must be at least 1.")
        require_bench_database(command="account_page_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = AccountPageBench(tasks=options["tasks"], requests=options["requests"], log=log)
        bench.clean_up()  # leftovers of an interrupted run
        try:
            csm, account = bench.fill()
            result = bench.measure(csm, account)
        finally:
            if not options["keep"]:
                bench.clean_up()
        write_report(self.stdout, as_dict(result), as_json=options["json"])
