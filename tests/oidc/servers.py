"""A WSGI app served on loopback by a fixed number of threads, as a gunicorn gthread worker serves it: a request
that hangs holds one of them."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

from werkzeug.serving import BaseWSGIServer


class PooledWSGIServer(BaseWSGIServer):
    def __init__(self, app, threads: int):
        super().__init__("127.0.0.1", 0, app)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="wsgi")

    def process_request(self, request, client_address):
        self.pool.submit(self._handle, request, client_address)

    def _handle(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


@contextmanager
def pooled_server(app, threads: int = 4) -> Iterator[str]:
    server = PooledWSGIServer(app, threads)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.pool.shutdown(wait=False, cancel_futures=True)
        server.server_close()
