"""Real services for integration tests: PostgreSQL, a private Redis, a Celery worker.

Each test that injects faults starts its own ``redis-server`` on a free port and its own
worker processes, and stops only what it started.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

BASE_DIR = Path(settings.BASE_DIR)
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip a test that needs an absent service; with REQUIRE_SERVICES=1 fail instead."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


def require_postgres() -> None:
    if connection.vendor != "postgresql":
        skip_or_fail(
            "needs PostgreSQL: run with DATABASE_URL=postgres://postgres@127.0.0.1:5432/afterwin"
        )


def require_redis_server() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("needs the redis-server binary (Debian package redis-server) on PATH")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class RedisServer:
    """A private redis-server this test owns (start, stop, restart, flush)."""

    def __init__(self) -> None:
        self.binary = require_redis_server()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="afterwin-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def flush(self) -> None:
        import redis

        redis.Redis.from_url(self.url).flushall()


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


def worker_env(broker_url: str) -> dict[str, str]:
    """Environment for a worker that uses the test database and ``broker_url``."""
    db = connection.settings_dict
    env = dict(os.environ)
    env["CELERY_BROKER_URL"] = broker_url
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Worker:
    def __init__(
        self,
        broker_url: str,
        *,
        concurrency: int = 1,
        name: str = "test",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.broker_url = broker_url
        self.extra_env = extra_env or {}
        self.concurrency = concurrency
        self.name = name
        fd, self.log_path = tempfile.mkstemp(prefix="afterwin-worker-", suffix=".log")
        os.close(fd)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--loglevel",
                "INFO",
                "--queues",
                "engine,email,default",
                "--concurrency",
                str(self.concurrency),
                "--hostname",
                f"{self.name}-{os.getpid()}@%h",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env={**worker_env(self.broker_url), **self.extra_env},
            stdout=open(self.log_path, "ab"),  # noqa: SIM115 (owned by the child process)
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() reaches the pool too
        )

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a crash or OOM kill would."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(15)
        if self.process is not None:
            # Pool processes left behind by a parent that did not shut down cleanly.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def output(self) -> str:
        return Path(self.log_path).read_text(errors="replace")


@contextlib.contextmanager
def celery_worker(broker_url: str, **kwargs) -> Iterator[Worker]:
    worker = Worker(broker_url, **kwargs)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


@contextlib.contextmanager
def app_broker(broker_url: str) -> Iterator[None]:
    """Point this process's Celery app (used by on-commit sends) at ``broker_url``."""
    from config.celery import app

    previous = app.conf.broker_url
    switch_broker(broker_url)
    try:
        yield
    finally:
        switch_broker(previous)


def switch_broker(broker_url: str) -> None:
    """Make this process's Celery app publish to ``broker_url`` from now on."""
    from kombu import pools

    from config import broker
    from config.celery import app

    # kombu keeps process-wide pools keyed by connection; clearing them (not just closing
    # the app's) keeps a later switch back to a URL from reusing a closed pool.
    pools.reset()
    # Celery reads CELERY_BROKER_URL from the environment before its own setting.
    os.environ["CELERY_BROKER_URL"] = broker_url
    app.conf.broker_url = broker_url
    # kombu takes an explicit transport over the URL's scheme: keep the two in step.
    app.conf.broker_transport = broker.transport_for(broker_url)
    app._pool = None
    app.amqp._producer_pool = None


def wait_until(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
