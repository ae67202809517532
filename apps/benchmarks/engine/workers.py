"""The bench's Celery workers: started as the Procfile's are (``--pool solo``, the same
queues), with the statement counters of ``apps.benchmarks.worker``; their memory read
from /proc; stopped by the ids the bench started, never by name."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from django.conf import settings

from config.celery import app as celery_app

QUEUES = ("engine", "email", "default")


def _status_kb(pid: int, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def broker_backlog() -> int:
    """Messages waiting in the workers' queues (not those a worker has taken)."""
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        total = 0
        for queue in QUEUES:
            with contextlib.suppress(Exception):  # a queue nobody declared yet is empty
                total += channel.queue_declare(queue=queue, passive=True).message_count
        return total


class Workers:
    def __init__(self, *, count: int, name: str, log) -> None:
        self.count, self.name, self.log = count, name, log
        self.stats_dir = tempfile.mkdtemp(prefix="afterwin-bench-stats-")
        self.processes: list[subprocess.Popen] = []
        self.rss_first: dict[int, int] = {}

    def start(self, *, timeout: float = 60) -> None:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "AFTERWIN_BENCH_STATS_DIR": self.stats_dir,
            # Thousands of emails to made-up addresses: they are delivered, to nowhere.
            "EMAIL_URL": "dummymail://",
            # As deployed: DEBUG would keep every statement in memory and format it.
            "DJANGO_DEBUG": "0",
        }
        for n in range(self.count):
            self.processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "apps.benchmarks.worker",
                        "worker",
                        "--pool",
                        "solo",
                        "--loglevel",
                        "WARNING",
                        "--queues",
                        ",".join(QUEUES),
                        "--hostname",
                        f"{self.name}-{n}-{os.getpid()}@%h",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                    ],
                    cwd=settings.BASE_DIR,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,  # its own group: stop() reaches nothing else
                )
            )
        # Ready when each has written its first counters (on Celery's worker_ready).
        deadline = time.monotonic() + timeout
        while len(self._stats_files()) < self.count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.count} workers were not ready after {timeout}s")
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError("a bench worker exited at start; run it by hand to see why")
            time.sleep(0.1)

    def rss_kb(self) -> dict[int, int]:
        return {p.pid: _status_kb(p.pid, "VmRSS") for p in self.processes}

    def peak_rss_kb(self) -> int:
        return max((_status_kb(p.pid, "VmHWM") for p in self.processes), default=0)

    def wait_idle(self, *, timeout: float) -> bool:
        """Wait until the broker holds no message for the workers, then one poll more for
        the ones they had taken."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if broker_backlog() == 0:
                time.sleep(1)
                if broker_backlog() == 0:
                    return True
            time.sleep(0.25)
        return False

    def stop(self) -> dict:
        """Warm shutdown (the running task finishes), then the counters they wrote."""
        peak = self.peak_rss_kb()
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                self.log(f"worker {process.pid} did not stop in 60 s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self.processes = []
        stats = self._read_stats()
        stats["peak_rss_kb"] = peak
        shutil.rmtree(self.stats_dir, ignore_errors=True)
        return stats

    def _stats_files(self) -> list[Path]:
        return list(Path(self.stats_dir).glob("*.json"))

    def _read_stats(self) -> dict:
        by_name: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(int))
        first_start: dict[str, float] = {}
        last_finish: dict[str, float] = {}
        for path in self._stats_files():
            data = json.loads(path.read_text())
            for name, row in data["by_name"].items():
                for key, value in row.items():
                    by_name[name][key] += value  # counts stay ints, seconds floats
            for name, at in data["first_start"].items():
                first_start[name] = min(at, first_start.get(name, at))
            for name, at in data["last_finish"].items():
                last_finish[name] = max(at, last_finish.get(name, at))
        return {"by_name": by_name, "first_start": first_start, "last_finish": last_finish}
