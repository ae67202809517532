"""Run one Procfile process; if it stops by itself with an error, say which and why.

When one process of ``make run`` exits, honcho stops the others, and the reason scrolls
away among their shutdown messages. This runs the real command, passes its output
through, remembers the last lines of its standard error and, on a failure nobody asked
for, prints one line before the others stop::

    afterwin: the worker stopped (exit code 1): Unrecoverable error: JSONDecodeError(…)
    — stopping web and beat

(one line, wrapped here).

Usage, in the Procfile::

    worker: python -m config.explain_exit worker -- celery -A config worker ...

The command stays in the wrapper's process group. honcho and a terminal signal the whole
group, so the command receives SIGTERM or SIGINT itself; the wrapper only notes that a
stop was asked for (and then stays quiet) and waits for the command to finish. Signal
the group, not the wrapper alone. Production runs the commands directly (README).
"""

import argparse
import collections
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
KEPT_LINES = 200

# The log formats of our processes, each up to the start of the message.
_LOG_FORMATS = [
    # Celery: "[2026-01-05 10:00:00,123: CRITICAL/MainProcess] Unrecoverable error: …"
    re.compile(r"^\[[^\]]*: (?P<level>[A-Z]+)/[^\]]*\]\s*"),
    # gunicorn: "[2026-01-05 10:00:00 +0000] [42] [ERROR] Exception in worker process"
    re.compile(r"^(?:\[[^\]]*\]\s*)+?\[(?P<level>[A-Z]+)\]\s*"),
    # settings.LOGGING: "2026-01-05 10:00:00,123 ERROR apps.core.views healthz: …"
    re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ (?P<level>[A-Z]+) \S+\s*"),
]


def _log_record(line: str) -> tuple[str, str] | None:
    """(level, message) of a log line in one of our formats, or None."""
    for log_format in _LOG_FORMATS:
        match = log_format.match(line)
        if match is not None:
            return match.group("level"), line[match.end() :].strip()
    return None


def reason(lines: Sequence[str]) -> str:
    """The line that best says why a process stopped, from the end of its standard error.

    The last CRITICAL record (Celery's "Unrecoverable error: …"); else, among the lines
    after the last ordinary record (INFO and below), the last ERROR record or exception
    line ending a traceback, or the last line. An error that the process logged and then
    carried on after is not why it stopped: then the answer is "".
    """
    critical = ""
    trouble: list[tuple[str, str]] = []  # ("error" or "line", text) since the last INFO
    in_traceback = False
    for line in lines:
        text = line.rstrip()
        if text.startswith("Traceback (most recent call last):"):
            in_traceback = True
            continue
        if in_traceback:
            if text and not text[0].isspace():
                trouble.append(("error", text))  # "json.decoder.JSONDecodeError: …"
                in_traceback = False
            continue
        record = _log_record(text)
        if record is None:
            if text.strip():
                trouble.append(("line", text.strip()))
        elif record[0] == "CRITICAL":
            critical = record[1]
        elif record[0] == "ERROR":
            trouble.append(("error", record[1]))
        else:
            trouble = []
    if critical:
        return critical
    errors = [text for kind, text in trouble if kind == "error"]
    if errors:
        return errors[-1]
    return trouble[-1][1] if trouble else ""


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def other_processes(name: str, procfile: Path = PROCFILE) -> list[str]:
    """The names of the Procfile's other processes, in their order."""
    try:
        text = procfile.read_text()
    except OSError:
        return []
    names = [
        line.split(":", 1)[0].strip()
        for line in text.splitlines()
        if ":" in line and not line.lstrip().startswith("#")
    ]
    return [other for other in names if other and other != name]


def summary(name: str, returncode: int, why: str, others: Sequence[str]) -> str:
    """The one line printed when ``name`` stopped with ``returncode`` by itself."""
    if returncode < 0:
        try:
            how = f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"was killed by signal {-returncode}"
    else:
        how = f"stopped (exit code {returncode})"
    line = f"afterwin: the {name} {how}"
    if returncode >= 0:  # a signal from outside is the whole story
        line += f": {why}" if why else " with no error output"
    if others:
        line += f" — stopping {_listing(others)}"
    return line


def run(name: str, command: Sequence[str]) -> int:
    """Run ``command``, relaying its output; return its exit status as a shell would."""
    stop_asked = threading.Event()

    def note_stop(signum, frame):
        stop_asked.set()  # the group got it too; the command shuts itself down

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, note_stop)

    kept: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
    try:
        child = subprocess.Popen(command, stderr=subprocess.PIPE)
    except OSError as exc:
        why = f"cannot start {command[0]}: {exc}"
        print(summary(name, 127, why, other_processes(name)), file=sys.stderr, flush=True)
        return 127

    def relay():
        for raw in child.stderr:
            sys.stderr.buffer.write(raw)
            sys.stderr.buffer.flush()
            kept.append(raw.decode(errors="replace"))

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    returncode = child.wait()
    # Children of the command (a worker's pool) may hold the pipe open a little longer.
    relay_thread.join(timeout=2)
    if returncode != 0 and not stop_asked.is_set():
        line = summary(name, returncode, reason(list(kept)), other_processes(name))
        print(line, file=sys.stderr, flush=True)
    return 128 - returncode if returncode < 0 else returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m config.explain_exit",
        description="Run a Procfile process and say why it stopped if it fails.",
    )
    parser.add_argument("name", help="the process name in the Procfile (web, worker, beat)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")
    return run(args.name, command)


if __name__ == "__main__":
    sys.exit(main())
