"""``soak``: against a running ``make run``, close a deal won every few seconds, for long.

Each round creates a customer through the REST API as the demo rep (account, primary
contact, deal, line item) and closes the deal won through the API, as an integration
would. At the end every closed deal must have its onboarding task: a ``Task`` created by
the published "New customer onboarding" playbook. The report gives the close-to-task
latency, the HTTP errors, and whether the web, worker and beat processes of this
checkout are still the ones that were running at the start.

The deals and accounts it creates (named "Soak …") stay, as a user's would: run it on a
checkout or database you can throw away.
"""

import datetime as dt
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db.models import Min

from apps.benchmarks.stats import percentile
from apps.deals.models import Deal
from apps.demo.data import PLAYBOOK_NAME
from apps.queues.models import Task

# How a process of `make run` shows in its command line (the Procfile's commands).
ROLES = {
    "web": ("gunicorn", "config.wsgi"),
    "worker": ("celery", "worker"),
    "beat": ("celery", "beat"),
}


# Rounds failing one after the other: the server is gone, more rounds add nothing.
GIVE_UP_AFTER = 10


class ApiError(Exception):
    """A request that did not get a 2xx answer."""


@dataclass
class SoakReport:
    minutes: float
    deals_closed: int = 0
    deals_without_task: list[int] = field(default_factory=list)
    latency_ms: list[float] = field(default_factory=list)
    http_errors: list[str] = field(default_factory=list)
    processes_at_start: dict[str, list[int]] = field(default_factory=dict)
    processes_gone: list[str] = field(default_factory=list)
    worker_rss_mb_start: float | None = None
    worker_rss_mb_end: float | None = None
    healthz: str = ""

    @property
    def deals_with_task(self) -> int:
        return self.deals_closed - len(self.deals_without_task)

    def problems(self) -> list[str]:
        """Everything that makes the soak a failure, one sentence each."""
        problems = []
        if self.deals_closed == 0:
            problems.append("No deal was closed.")
        if self.deals_without_task:
            ids = ", ".join(str(pk) for pk in self.deals_without_task[:20])
            problems.append(
                f"{len(self.deals_without_task)} of {self.deals_closed} closed deals have no "
                f"onboarding task (deal ids {ids})."
            )
        if self.http_errors:
            problems.append(f"{len(self.http_errors)} HTTP requests failed.")
        if self.processes_gone:
            problems.append(f"Stopped during the soak: {', '.join(self.processes_gone)}.")
        if self.healthz != "ok":
            problems.append(f"/healthz at the end: {self.healthz}.")
        return problems

    def _latency_line(self) -> str:
        if not self.latency_ms:
            return "close to first task: n/a"
        return (
            f"close to first task: p50 {percentile(self.latency_ms, 50):.0f} ms, "
            f"p99 {percentile(self.latency_ms, 99):.0f} ms, max {max(self.latency_ms):.0f} ms"
        )

    def lines(self) -> list[str]:
        def rss(value: float | None) -> str:
            return f"{value:.0f} MB" if value is not None else "n/a"

        found = ", ".join(
            f"{role} (pid {', '.join(map(str, pids))})"
            for role, pids in self.processes_at_start.items()
        )
        return [
            f"duration: {self.minutes:g} min",
            f"deals closed: {self.deals_closed}",
            f"deals with their onboarding task: {self.deals_with_task}",
            self._latency_line(),
            f"HTTP errors: {len(self.http_errors)}"
            + "".join(f"\n  {error}" for error in self.http_errors[:10]),
            f"processes at the start: {found or 'none of this checkout on this machine'}",
            "processes at the end: "
            + (f"gone: {', '.join(self.processes_gone)}" if self.processes_gone else "all alive"),
            f"worker RSS (main + pool): {rss(self.worker_rss_mb_start)} at the start, "
            f"{rss(self.worker_rss_mb_end)} at the end",
            f"/healthz at the end: {self.healthz}",
        ]


class Api:
    """The REST API as one user, with token authentication."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = ""

    def request(self, method: str, path: str, data: dict | None = None) -> dict:
        body = json.dumps(data).encode() if data is not None else None
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers={"Accept": "application/json"}
        )
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            raise ApiError(f"{method} {path}: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"{method} {path}: {exc}") from None

    def log_in(self, username: str, password: str) -> None:
        form = urllib.parse.urlencode({"username": username, "password": password}).encode()
        request = urllib.request.Request(f"{self.base_url}/api/auth/token/", data=form)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                self.token = json.loads(response.read())["token"]
        except urllib.error.HTTPError as exc:
            raise ApiError(f"cannot log in as {username}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiError(f"cannot reach {self.base_url}: {exc}") from None

    def first(self, path: str) -> dict:
        results = self.request("GET", path)["results"]
        if not results:
            raise ApiError(f"GET {path}: nothing found")
        return results[0]


@dataclass
class CloseContext:
    """What every soak deal needs, looked up once through the API."""

    win_reason: int
    product: int
    unit_price: str
    owner: int | None
    csm: int | None

    @classmethod
    def look_up(cls, api: Api, username: str) -> "CloseContext":
        product = api.first("/api/products/?active=true")
        # The rep's demo accounts name the CSM who takes over new customers.
        accounts = api.request("GET", "/api/accounts/?page_size=200")["results"]
        mine = [a for a in accounts if a["owner_username"] == username and a["csm"]]
        return cls(
            win_reason=api.first("/api/win-reasons/?active=true")["id"],
            product=product["id"],
            unit_price=product["list_price"],
            owner=mine[0]["owner"] if mine else None,
            csm=mine[0]["csm"] if mine else None,
        )


def deal_create_and_close(api: Api, context: CloseContext, *, name: str) -> int:
    """Create a closable deal through the API and close it won; return its id."""
    account = api.request(
        "POST",
        "/api/accounts/",
        {"name": name, "timezone": "UTC", "owner": context.owner, "csm": context.csm},
    )
    contact = api.request(
        "POST",
        "/api/contacts/",
        {
            "account": account["id"],
            "name": "Sam Soak",
            "email": f"sam@{uuid.uuid4().hex[:12]}.invalid",
            "is_primary": True,
        },
    )
    deal = api.request(
        "POST",
        "/api/deals/",
        {
            "name": f"{name} deal",
            "account": account["id"],
            "owner": context.owner,
            "amount": context.unit_price,
            "close_date": dt.date.today().isoformat(),
            "primary_contact": contact["id"],
        },
    )
    api.request(
        "POST",
        "/api/deal-line-items/",
        {"deal": deal["id"], "product": context.product, "unit_price": context.unit_price},
    )
    api.request(
        "POST",
        f"/api/deals/{deal['id']}/transitions/close_won/",
        {"win_reason": context.win_reason, "win_notes": "Closed by the soak test."},
    )
    return deal["id"]


def first_task_latencies(deal_ids: list[int]) -> dict[int, float]:
    """Milliseconds from each deal's close to the first task of the onboarding playbook."""
    closed_at = dict(Deal.objects.filter(pk__in=deal_ids).values_list("pk", "closed_at"))
    first_tasks = (
        Task.objects.filter(
            deal_id__in=deal_ids, step_run__enrollment__playbook__name=PLAYBOOK_NAME
        )
        .values("deal_id")
        .annotate(first=Min("created_at"))
    )
    return {
        row["deal_id"]: (row["first"] - closed_at[row["deal_id"]]).total_seconds() * 1000
        for row in first_tasks
    }


# Processes ---------------------------------------------------------------------------------


@dataclass
class ProcessInfo:
    parent: int
    command: str
    cwd: Path | None


def process_table() -> dict[int, ProcessInfo]:
    """Every process this user may read, from Linux's /proc; empty elsewhere."""
    table = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return table
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            cwd = None  # another user's
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        table[int(entry.name)] = ProcessInfo(parent, command.replace("\0", " ").strip(), cwd)
    return table


def local_processes(base_dir: Path | None = None) -> dict[str, list[int]]:
    """The web, worker and beat processes running from this checkout, by role.

    Only the main process of each: a worker's pool and gunicorn's workers are its
    children, and the ``config.explain_exit`` wrapper in front of each is left out.
    """
    base_dir = Path(base_dir or settings.BASE_DIR).resolve()
    table = process_table()

    def role_of(pid: int) -> str | None:
        info = table.get(pid)
        if info is None or info.cwd != base_dir or "config.explain_exit" in info.command:
            return None
        for role, words in ROLES.items():
            if all(word in info.command for word in words):
                return role
        return None

    roles: dict[str, list[int]] = {}
    for pid, info in sorted(table.items()):
        role = role_of(pid)
        if role is not None and role_of(info.parent) != role:
            roles.setdefault(role, []).append(pid)
    return {role: roles[role] for role in ROLES if role in roles}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, and is someone else's
    return True


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` and its children, in MB (Linux /proc)."""
    pids = [pid, *(child for child, info in process_table().items() if info.parent == pid)]
    total_kb = 0
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            if each == pid:
                return None
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1)


# The run -----------------------------------------------------------------------------------


def soak_run(
    *,
    base_url: str,
    username: str,
    password: str,
    minutes: float,
    every: float,
    settle: float,
    log: Callable[[str], None],
) -> SoakReport:
    """Close a deal every ``every`` seconds for ``minutes``, then check their tasks."""
    report = SoakReport(minutes=minutes)
    api = Api(base_url)
    api.log_in(username, password)
    context = CloseContext.look_up(api, username)
    report.processes_at_start = local_processes()
    worker = report.processes_at_start.get("worker", [None])[0]
    report.worker_rss_mb_start = rss_mb(worker) if worker else None

    run = uuid.uuid4().hex[:6]
    started = time.monotonic()
    deadline = started + minutes * 60
    closed: list[int] = []
    round_number = failed_in_a_row = 0
    while time.monotonic() < deadline:
        round_number += 1
        try:
            closed.append(deal_create_and_close(api, context, name=f"Soak {run} #{round_number}"))
            failed_in_a_row = 0
        except ApiError as exc:
            report.http_errors.append(str(exc))
            log(f"error: {exc}")
            failed_in_a_row += 1
            if failed_in_a_row == GIVE_UP_AFTER:
                log(f"{GIVE_UP_AFTER} rounds failed in a row: ending the rounds early")
                break
        if round_number % 20 == 0:
            log(f"{round_number} rounds, {len(closed)} deals closed")
        time.sleep(max(0.0, started + round_number * every - time.monotonic()))
    report.deals_closed = len(closed)

    # The last closes still have their tasks on the way.
    settle_until = time.monotonic() + settle
    latencies = first_task_latencies(closed)
    while len(latencies) < len(closed) and time.monotonic() < settle_until:
        time.sleep(0.5)
        latencies = first_task_latencies(closed)
    report.latency_ms = sorted(latencies.values())
    report.deals_without_task = [pk for pk in closed if pk not in latencies]

    for role, pids in report.processes_at_start.items():
        report.processes_gone += [f"{role} (pid {pid})" for pid in pids if not alive(pid)]
    report.worker_rss_mb_end = rss_mb(worker) if worker and alive(worker) else None
    try:
        report.healthz = api.request("GET", "/healthz").get("status", "unknown")
    except ApiError as exc:
        report.healthz = str(exc)
    return report
