"""A real HTTP receiver on a free local port, and the check of what it received."""

import collections
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Records every POST and answers with the statuses queued in ``answers`` (200 once
    they run out)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: collections.deque[int] = collections.deque()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.answers.popleft() if receiver.answers else 200
                self.send_response(status)
                self.send_header("content-type", "text/plain")
                self.end_headers()
                self.wfile.write(f"answered {status}".encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/afterwin"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


def verified(secret: str, request: Received) -> dict:
    """The body, checked with the Standard Webhooks project's own library (not ours)."""
    return Webhook(secret).verify(request.body, request.headers)
