"""An independent webhook receiver on 127.0.0.1: it verifies with the standardwebhooks package."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str | None


@dataclass
class Receiver:
    url: str
    secret: str | None = None
    status: int = 204
    location: str | None = None  # answer a redirect there
    received: list[Received] = field(default_factory=list)

    def verify(self, body: bytes, headers: dict[str, str]) -> Any:
        assert self.secret is not None
        return Webhook(self.secret).verify(body, headers)


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified, error = False, None
            if state.secret is not None:
                try:
                    state.verify(body, headers)
                    verified = True
                except WebhookVerificationError as exc:
                    error = str(exc)
            state.received.append(Received(self.path, headers, body, verified, error))
            status = state.status if verified or state.secret is None else 400
            self.send_response(status)
            if state.location:
                self.send_header("Location", state.location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/advocacy"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
