from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    """Benchmark commands. They drive the whole product; nothing imports this app."""

    name = "apps.benchmarks"
    label = "benchmarks"
    verbose_name = "Benchmarks"
