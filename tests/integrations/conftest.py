"""What the CRM tests share: payloads shaped as each vendor documents them (under
``fixtures/``), a stand-in for the CRM APIs Afterwin reads from (a real HTTP server on a
free port, never the network), the worker's part run in this process, and the people,
reasons, product and playbook a won deal needs."""

import copy
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from apps.core import outbox
from apps.engine.models import Enrollment
from apps.integrations.models import InboundEvent
from apps.integrations.processing import events_process
from apps.integrations.services import connection_create
from apps.queues.models import Task
from tests.factories import (
    LossReasonFactory,
    ProductFactory,
    UserFactory,
    WinReasonFactory,
    onboarding_playbook,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture_bytes(name))


class StandIn:
    """A CRM API on 127.0.0.1: ``routes`` maps a path to the answers it gives in turn
    (the last one repeats); every request is kept with its headers, and the fields of
    every form POSTed (an OAuth token request) in ``forms``. ``slow`` delays a path's
    answers by some seconds."""

    def __init__(self) -> None:
        self.routes: dict[str, list[tuple[int, object]]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.forms: list[dict[str, str]] = []
        self.slow: dict[str, float] = {}
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                stand_in.forms.append({name: values[0] for name, values in form.items()})
                self.do_GET()

            def do_GET(self):
                stand_in.requests.append((self.path, dict(self.headers)))
                path = urlsplit(self.path).path
                with stand_in.lock:
                    answers = stand_in.routes.get(path)
                    status, body = (404, {"message": "not found"}) if not answers else answers[0]
                    if answers and len(answers) > 1:
                        answers.pop(0)
                time.sleep(stand_in.slow.get(path, 0))
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, *answers: tuple[int, object]) -> None:
        self.routes[path] = list(answers)

    def paths(self) -> list[str]:
        return [urlsplit(path).path for path, _ in self.requests]


@pytest.fixture
def crm_api():
    stand_in = StandIn()
    stand_in.thread.start()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture(autouse=True)
def _quick_retries(settings):
    settings.CRM_FETCH_BACKOFF_MS = 10
    settings.CRM_FETCH_ATTEMPTS = 3
    # Every test posts from 127.0.0.1 and the counters outlive a test (in Redis): the cap
    # on rejected deliveries has its own test, from its own address.
    settings.INBOUND_REJECTION_RATE_PER_IP = "100000/m"


@pytest.fixture
def world(db):
    """A rep whose email the CRMs know, reasons, the product the CRMs sell, a playbook."""

    class World:
        rep = UserFactory(username="rita", email="rita@northwind.test", role="Sales Rep")
        win = WinReasonFactory(name="Product fit")
        loss = LossReasonFactory(name="Price")
        product = ProductFactory(sku="PLAT-ANNUAL", list_price=Decimal("12000.00"))
        playbook = onboarding_playbook()

    return World


def connect(vendor: str, world, **fields):
    defaults = {
        "name": f"Northwind {vendor}",
        "vendor": vendor,
        "enabled": True,
        "default_owner": world.rep,
        "default_win_reason": world.win,
        "default_loss_reason": world.loss,
        "default_product": world.product,
    }
    return connection_create(**(defaults | fields))


def work() -> list[str]:
    """What the worker does after the commit: process every pending event (blocked events
    a later delivery re-queued included) until none is left."""
    states = []
    for _ in range(5):
        ids = list(
            InboundEvent.objects.filter(state=InboundEvent.State.PENDING)
            .order_by("id")
            .values_list("pk", flat=True)
        )
        if not ids:
            break
        events_process(event_ids=ids)
        states += list(
            InboundEvent.objects.filter(pk__in=ids).order_by("id").values_list("state", flat=True)
        )
    return states


def playbook_started(deal) -> bool:
    """The close's event processed (as the worker would): an enrollment and its first task."""
    outbox.drain()
    return Enrollment.objects.filter(deal=deal).exists() and Task.objects.filter(deal=deal).exists()


def nothing_stored() -> bool:
    from apps.integrations.models import InboundDelivery

    return not InboundDelivery.objects.exists() and not InboundEvent.objects.exists()


def variant(data, **changes):
    copied = copy.deepcopy(data)
    copied.update(changes)
    return copied
