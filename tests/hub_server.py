"""A Hugging Face Hub look-alike on 127.0.0.1, enough for huggingface_hub to list a repository and PaperLens to
download from it, so download tests never need the internet.

What it answers (the endpoints huggingface_hub 2.x calls, read from its source):
- `GET /api/models/{repo}` and `/api/models/{repo}/revision/{rev}`: model info; `?blobs=true` adds sizes and LFS data
  to `siblings` (what `model_info(files_metadata=True)` asks for);
- `GET /api/models/{repo}/tree/{rev}`: the file tree (`list_repo_tree`);
- `HEAD`/`GET /{repo}/resolve/{rev}/{file}`: the file, with `ETag`, `X-Repo-Commit`, `X-Linked-Etag`, `X-Linked-Size`,
  `Accept-Ranges` and `Range` requests (206 with `Content-Range`);
- unknown repository, revision or file: 404 with the hub's `X-Error-Code` (RepoNotFound, RevisionNotFound,
  EntryNotFound), which huggingface_hub turns into its error types.

Knobs for tests: `requests` (every request with its Range header), `cut_after` (close the connection after that many
bytes of a body: an interrupted download), `corrupt` (file names served with one byte flipped, under the true
checksum), `delay` (seconds between 64 KiB chunks: a slow download to cancel).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Recorded:
    method: str
    path: str
    range: str | None


@dataclass
class HubRepo:
    repo: str
    files: dict[str, Path]  # name in the repository -> file on disk
    sha: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, path in self.files.items():
            self.sha[name] = hashlib.sha256(path.read_bytes()).hexdigest()


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.requests: list[Recorded] = []
        self.cut_after: int | None = None  # bytes of a body, then the connection is dropped (once)
        self.corrupt: set[str] = set()
        self.delay = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add_repo(self, repo: str, files: dict[str, Path]) -> HubRepo:
        r = HubRepo(repo, files)
        self.repos[repo] = r
        return r

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def ranges(self, name: str) -> list[str | None]:
        return [r.range for r in self.requests if r.method == "GET" and r.path.endswith("/" + name)]

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args) -> None:  # noqa: A002 (the base class's name)
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    # --- routing ---
    def _answer(self, head: bool) -> None:
        url = urlparse(self.path)
        path = unquote(url.path)
        self.fake.requests.append(Recorded(self.command, path, self.headers.get("Range")))
        query = parse_qs(url.query)
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/") :]
            repo, tail = self._repo(rest)
            if repo is None:
                return self._error(404, "RepoNotFound", "Repository not found")
            if tail in ("", "/") or tail.startswith("/revision/"):
                rev = tail[len("/revision/") :] if tail.startswith("/revision/") else "main"
                if not self._revision_ok(rev):
                    return self._error(404, "RevisionNotFound", "Invalid rev id")
                return self._json(self._model_info(repo, blobs="blobs" in query), head)
            m = re.fullmatch(r"/tree/([^/]+)(/.*)?", tail)
            if m:
                if not self._revision_ok(unquote(m.group(1))):
                    return self._error(404, "RevisionNotFound", "Invalid rev id")
                return self._json(self._tree(repo), head)
            return self._error(404, None, "Not found")
        m = re.fullmatch(r"/(.+)/resolve/([^/]+)/(.+)", path)
        if m:
            repo = self.fake.repos.get(m.group(1))
            if repo is None:
                return self._error(404, "RepoNotFound", "Repository not found")
            if not self._revision_ok(m.group(2)):
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            name = m.group(3)
            if name not in repo.files:
                return self._error(404, "EntryNotFound", "Entry not found")
            return self._file(repo, name, head)
        return self._error(404, None, "Not found")

    def _repo(self, rest: str) -> tuple[HubRepo | None, str]:
        for name, repo in self.fake.repos.items():
            if rest == name or rest.startswith(name + "/"):
                return repo, rest[len(name) :]
        return None, ""

    @staticmethod
    def _revision_ok(rev: str) -> bool:
        return rev in ("main", COMMIT)

    # --- bodies ---
    def _model_info(self, repo: HubRepo, blobs: bool) -> dict:
        siblings = []
        for name, path in repo.files.items():
            s: dict = {"rfilename": name}
            if blobs:
                size = path.stat().st_size
                s.update(
                    size=size,
                    blobId=hashlib.sha1(name.encode()).hexdigest(),
                    lfs={"size": size, "sha256": repo.sha[name], "pointerSize": 134},
                )
            siblings.append(s)
        return {
            "id": repo.repo,
            "modelId": repo.repo,
            "sha": COMMIT,
            "private": False,
            "tags": ["gguf"],
            "siblings": siblings,
        }

    def _tree(self, repo: HubRepo) -> list:
        return [
            {
                "type": "file",
                "path": name,
                "size": path.stat().st_size,
                "oid": hashlib.sha1(name.encode()).hexdigest(),
                "lfs": {"oid": repo.sha[name], "size": path.stat().st_size, "pointerSize": 134},
            }
            for name, path in repo.files.items()
        ]

    def _json(self, data, head: bool) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _file(self, repo: HubRepo, name: str, head: bool) -> None:
        path = repo.files[name]
        size = path.stat().st_size
        start, end = 0, size - 1
        status = 200
        rng = self.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            if not m or int(m.group(1)) >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else size - 1
            status = 206
        etag = f'"{repo.sha[name]}"'
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("X-Linked-Etag", etag)
        self.send_header("X-Linked-Size", str(size))
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        sent = 0
        with open(path, "rb") as fh:
            fh.seek(start)
            left = end - start + 1
            pos = start
            while left > 0:
                chunk = bytearray(fh.read(min(64 * 1024, left)))
                if not chunk:
                    break
                if name in self.fake.corrupt and pos <= size // 2 < pos + len(chunk):
                    chunk[size // 2 - pos] ^= 0xFF
                cut = self.fake.cut_after
                if cut is not None and sent + len(chunk) > cut:
                    self.wfile.write(chunk[: cut - sent])
                    self.wfile.flush()
                    self.fake.cut_after = None
                    self.close_connection = True
                    self.connection.shutdown(2)  # the network goes away mid-file
                    return
                try:
                    self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    return
                sent += len(chunk)
                pos += len(chunk)
                left -= len(chunk)
                if self.fake.delay:
                    time.sleep(self.fake.delay)


def official_twin_repo(tiny_twin, folder: Path) -> dict[str, Path]:
    """The tiny twin under the names the official repository uses, with three quantizations of the text model
    (copies of the twin's text file: the download only cares about names, sizes and checksums) and a README."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for i, quant in enumerate(("Q4_K_M", "Q8_0", "F16")):
        dst = folder / f"MiniCPM-V-4.6-{quant}.gguf"
        shutil.copyfile(tiny_twin.text, dst)
        if i:  # different sizes (a tail past the tensors does not change the GGUF), different checksums
            with open(dst, "ab") as fh:
                fh.write(b"\0" * 4096 * i)
        files[dst.name] = dst
    proj = folder / "mmproj-model-f16.gguf"
    shutil.copyfile(tiny_twin.projector, proj)
    files[proj.name] = proj
    readme = folder / "README.md"
    readme.write_text("# MiniCPM-V 4.6 (tiny twin)\n")
    files[readme.name] = readme
    return files
