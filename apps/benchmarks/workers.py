"""Celery worker processes that a benchmark starts, measures and stops (only those)."""

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings


class Workers:
    """``count`` worker processes (``--pool solo``) on every queue, against the
    configured database and broker, named ``<name>-<n>@host``."""

    def __init__(self, *, count: int, name: str) -> None:
        self.count, self.name = count, name
        self.processes: list[subprocess.Popen] = []
        self.peak_rss_kb = 0

    def start(self) -> None:
        for n in range(self.count):
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "--pool",
                        "solo",
                        "--loglevel",
                        "WARNING",
                        "--queues",
                        "engine,email,default",
                        "--hostname",
                        f"{self.name}-{n}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    cwd=Path(settings.BASE_DIR),
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        time.sleep(3)  # let them connect before the clock starts

    def sample_rss(self) -> None:
        for process in self.processes:
            status = Path(f"/proc/{process.pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))

    @property
    def peak_rss_mb(self) -> float:
        return round(self.peak_rss_kb / 1024, 1)

    def stop(self) -> None:
        self.sample_rss()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
