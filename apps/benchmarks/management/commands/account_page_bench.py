from django.core.management.base import BaseCommand, CommandError

from apps.benchmarks.account_page import AccountPageBench, as_dict
from apps.benchmarks.commands import (
    add_fill_and_measure_arguments,
    fill_and_measure,
    require_bench_database,
    write_report,
)


class Command(BaseCommand):
    help = (
        "Give one account N tasks (a million by default) and report the server time "
        "(p50/p95) of its account page over N requests, and its query count."
    )

    def add_arguments(self, parser):
        add_fill_and_measure_arguments(parser, rows="tasks", rows_default=1_000_000)

    def handle(self, *args, **options):
        if options["tasks"] < 1 or options["requests"] < 1:
            raise CommandError("--tasks and --requests must be at least 1.")
        require_bench_database(command="account_page_bench", force=options["force"])
        log = (lambda message: None) if options["json"] else self.stdout.write
        bench = AccountPageBench(tasks=options["tasks"], requests=options["requests"], log=log)
        result = fill_and_measure(bench, keep=options["keep"])
        write_report(self.stdout, as_dict(result), as_json=options["json"])
