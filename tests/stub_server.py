"""A tiny OpenAI-compatible server of our own for what a real one will not do on demand: 503s, dropped streams, slow
answers, a refused key, no vision. Runs in a thread on 127.0.0.1; each chat request takes the next scripted behaviour
(then the default), and every request is recorded."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubServer:
    def __init__(
        self, *, owned_by: str = "stub", model: str = "minicpm-v-4.6", words: int = 6, delay: float = 0.0
    ):
        self.owned_by, self.model = owned_by, model
        self.words = words  # words per answer
        self.delay = delay  # seconds between streamed words
        self.script: list[
            str
        ] = []  # behaviours for the next chat requests: ok|503|429|drop|interrupted|slow|401|novision|hang
        self.models_status = 200
        self.ollama = False
        self.requests: list[dict] = []
        self.completed: list[str] = []  # image hashes whose answer was streamed to the end
        self.closed_early = threading.Event()  # a client left in the middle of a stream
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    if stub.models_status != 200:
                        return self._json(stub.models_status, {"error": {"message": "nope"}})
                    return self._json(200, {"data": [{"id": stub.model, "owned_by": stub.owned_by}]})
                if self.path == "/api/version" and stub.ollama:
                    return self._json(200, {"version": "0.30.0"})
                return self._json(404, {"error": "not found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append(body)
                    behaviour = stub.script.pop(0) if stub.script else "ok"
                image = _image_hash(body)
                if behaviour in ("503", "429"):
                    self.send_response(int(behaviour))
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if behaviour == "401":
                    return self._json(401, {"error": {"message": "invalid api key"}})
                if behaviour == "novision":
                    return self._json(
                        500,
                        {
                            "error": {
                                "message": "image input is not supported - hint: you may need to provide the mmproj"
                            }
                        },
                    )
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                delay = 5.0 if behaviour == "slow" else stub.delay
                if behaviour == "hang":
                    time.sleep(5)
                    return
                try:
                    for i in range(stub.words):
                        if behaviour == "drop" and i == 2:
                            self.wfile.flush()
                            self.connection.shutdown(2)  # the connection dies mid-answer
                            return
                        if behaviour == "interrupted" and i == 1:
                            # llama-cpp-python's server when another request waits: [DONE], no finish reason
                            self.wfile.write(b"data: [DONE]\n\n")
                            self.wfile.flush()
                            return
                        chunk = {
                            "choices": [
                                {"index": 0, "delta": {"content": f"word{i} "}, "finish_reason": None}
                            ]
                        }
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                        if delay:
                            time.sleep(delay)
                    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                    with stub.lock:
                        stub.completed.append(image)
                except (BrokenPipeError, ConnectionResetError):
                    stub.closed_early.set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def image_hashes(self) -> list[str]:
        with self.lock:
            return [_image_hash(r) for r in self.requests]


def _image_hash(body: dict) -> str:
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    return hashlib.sha256(part["image_url"]["url"].encode()).hexdigest()[:16]
    return ""
