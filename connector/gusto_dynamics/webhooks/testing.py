"""Run the receiver on a free 127.0.0.1 port in a background thread (tests, demo)."""

from __future__ import annotations

import threading
import time

from gusto_dynamics.webhooks.app import WEBHOOK_PATH, WebhookReceiver, create_server


class ReceiverThread:
    """``with ReceiverThread(receiver) as running: requests.post(running.url, ...)``."""

    def __init__(self, receiver: WebhookReceiver, host: str = "127.0.0.1") -> None:
        self.receiver = receiver
        self.server, self._sock = create_server(receiver, host, 0)
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://{host}:{self.port}"
        self.url = self.base_url + WEBHOOK_PATH
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> ReceiverThread:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the webhook receiver did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._sock.close()
