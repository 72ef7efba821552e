"""An HTTP proxy in front of act's artifact server, so that upload-artifact v7 and
download-artifact v8 work against act 0.2.89 (../shared/actions/README.md):

- CreateArtifact carries a `mime_type` field act's server refuses (nektos/act 6022): dropped;
- the server signs upload and download URLs with its own address: rewritten to this proxy's,
  so the blob requests come back through here;
- the Azure SDK strips the base64 padding of the `sig` query parameter, which act 0.2.89
  then refuses ("Error unauthorized"): put back.

It runs in a thread of the test process for the length of one workflow run.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "host"}


def without_mime_type(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_mime_type(item) for key, item in value.items() if key != "mime_type"}
    if isinstance(value, list):
        return [without_mime_type(item) for item in value]
    return value


def padded_signature(target: str) -> str:
    path, _, query = target.partition("?")
    if "sig=" not in query:
        return target
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    pairs = [(key, value + "=" * (-len(value) % 4) if key == "sig" else value) for key, value in pairs]
    return path + "?" + urllib.parse.urlencode(pairs)


def handler_for(upstream: str, public: list[str]) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        def forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if body and b"mime_type" in body and "json" in (self.headers.get("Content-Type") or ""):
                body = json.dumps(without_mime_type(json.loads(body))).encode()
            headers = {key: value for key, value in self.headers.items() if key.lower() not in HOP_BY_HOP}
            request = urllib.request.Request(
                upstream + padded_signature(self.path), data=body, headers=headers, method=self.command
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    status, reply, reply_headers = response.status, response.read(), response.headers
            except urllib.error.HTTPError as exc:
                status, reply, reply_headers = exc.code, exc.read(), exc.headers
            reply = reply.replace(upstream.encode(), public[0].encode())
            self.send_response(status)
            for key, value in reply_headers.items():
                if key.lower() not in HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: act's own log says what each job uploaded."""

    return Forward


@contextmanager
def artifact_proxy(upstream: str) -> Iterator[str]:
    """A proxy to `upstream` (act's artifact server), on a free local port: its URL."""
    public: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(upstream.rstrip("/"), public))
    public.append(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield public[0]
    finally:
        server.shutdown()
        server.server_close()
