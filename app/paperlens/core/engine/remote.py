"""An engine that runs the model on one or more OpenAI-compatible servers (llama.cpp, vLLM, SGLang, Ollama).

The page goes as a base64 PNG data URL in a `/v1/chat/completions` request and the answer comes back streamed
(server-sent events). The prompts are the local engine's own (`core/prompts.py`), turned from ChatML into chat
messages, so a remote page is asked exactly what a local page is asked; thinking is switched off through
`chat_template_kwargs` as the local prompt does with its empty think block.

What each kind of server gets (`--server-kind`, detected from `/v1/models` when "auto"):
- llama (llama.cpp's `llama-server`, llama-cpp-python's server): the projector the server loaded decides 4x or 16x;
  PaperLens cannot ask it, so `--mode` must name what the server runs (start it with the derived 4x projector).
- vllm: the mode and the slice cap per request, through `mm_processor_kwargs` (`downsample_mode`, `max_slice_nums`).
- sglang: the mode is fixed in the server's model config; as with llama, `--mode` must name it.
- ollama: 16x only (its packaged projector); asking it for 4x is refused with a sentence rather than silently
  answered in 16x, because the result would be cached and exported as a 4x one.

Several servers: each run goes to the server with the fewest runs in flight; `jobs` runs may be in flight at once
(the pipeline runs that many pages concurrently). Failures: 429/502/503/504 and dropped connections are retried with
exponential backoff (bounded); a page that still fails fails alone (`PageRunError`); a wrong URL, a refused
connection, a refused key, a server without vision or without the model stop the run with one sentence.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from paperlens.core.engine.contract import ChunkCallback, EngineInfo, VisionEngine
from paperlens.core.errors import EngineError, EngineNotLoaded, ModelNotFound, PageRunError
from paperlens.core.options import IMAGE_MODES, SERVER_KINDS, EngineOptions, Mode
from paperlens.core.prompts import IM_END, IM_START, THINK_OFF, Task, build_prompt
from paperlens.core.runs import Finish, RunResult, RunStats

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

API_KEY_ENV = "PAPERLENS_API_KEY"
RETRY_STATUS = frozenset({429, 502, 503, 504})
FIXED_16X = frozenset({"ollama"})  # servers that can only run 16x
_IMAGE = "\x00page-image\x00"
_TURN = re.compile(re.escape(IM_START) + r"(\w+)\n(.*?)(?:" + re.escape(IM_END) + r"\n?|\Z)", re.S)
_NO_VISION = re.compile(r"image|vision|multimodal|multi-modal|mmproj|clip", re.I)


def normalize_url(url: str) -> str:
    """`host:8000`, `http://host:8000/`, `http://host:8000/v1` all name the same server: `http://host:8000`."""
    url = url.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
        url = "http://" + url
    url = url.rstrip("/")
    if url.endswith("/v1"):
        url = url[: -len("/v1")]
    try:
        parsed = httpx.URL(url)
    except Exception:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise EngineError(
            f"{url!r} is not a server address.",
            hint="Give one like http://gpu-box:8000 (the server's base URL).",
        )
    return url


def chat_messages(task: Task, image_url: str | None) -> list[dict[str, Any]]:
    """The local engine's ChatML prompt for `task` as chat messages: the same turns, the image where it sits.

    The last, open assistant turn (with its empty think block) is left to the server's chat template, which writes
    it when asked with `add_generation_prompt` and `enable_thinking: false`.
    """
    parts = build_prompt(task)
    text = parts.before + (_IMAGE if parts.image and image_url else "") + parts.after
    messages: list[dict[str, Any]] = []
    for match in _TURN.finditer(text):
        role, body = match.group(1), match.group(2)
        if role == "assistant":
            body = body[len(THINK_OFF) :] if body.startswith(THINK_OFF) else body
            if not body and match.end() == len(text):
                continue  # the generation prompt
        if _IMAGE in body:
            before, after = body.split(_IMAGE, 1)
            content: list[dict[str, Any]] = []
            if before.strip():
                content.append({"type": "text", "text": before})
            content.append({"type": "image_url", "image_url": {"url": image_url}})
            if after.strip():
                content.append({"type": "text", "text": after.lstrip("\n")})
            messages.append({"role": role, "content": content})
        else:
            messages.append({"role": role, "content": body})
    return messages


def image_data_url(image: Image.Image) -> str:
    """A lossless PNG: OCR must see the pixels the renderer made, not JPEG's blur around letters."""
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class _ThinkFilter:
    """Drops a leading `<think>...</think>` block, for servers whose template lets the model think anyway."""

    def __init__(self) -> None:
        self.buffer = ""
        self.passing = False

    def feed(self, piece: str) -> str:
        if self.passing:
            return piece
        self.buffer += piece
        stripped = self.buffer.lstrip()
        if "<think>".startswith(stripped) and len(stripped) < len("<think>"):
            return ""  # could still become a think block
        if stripped.startswith("<think>"):
            end = stripped.find("</think>")
            if end < 0:
                return ""
            self.passing = True
            return stripped[end + len("</think>") :].lstrip("\n")
        self.passing = True
        return self.buffer

    def flush(self) -> str:
        return "" if self.passing or self.buffer.lstrip().startswith("<think>") else self.buffer


@dataclass
class _Server:
    url: str
    kind: str = ""
    model: str = ""
    in_flight: int = 0
    # the server ends an answer early when another request waits (llama-cpp-python's `--interrupt_requests`, on by
    # default): found on the first such answer, after which pages go to it one at a time
    one_at_a_time: bool = False
    gate: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class RemoteEngine(VisionEngine):
    """`VisionEngine` over OpenAI-compatible servers. Thread-safe: `jobs` runs may be in flight at once."""

    def __init__(
        self,
        options: EngineOptions,
        *,
        backoff_s: float = 1.0,
        extra_body: dict[str, Any] | None = None,
        connect_timeout_s: float = 10.0,
    ) -> None:
        if not options.server_urls:
            raise EngineError("No server address given.", hint="Use --engine http://HOST:PORT.")
        if options.server_kind not in SERVER_KINDS:
            raise EngineError(
                f"Unknown server kind {options.server_kind!r}; one of {', '.join(SERVER_KINDS)}."
            )
        self.options = options
        self.servers = [_Server(normalize_url(u)) for u in options.server_urls]
        self.backoff_s = backoff_s
        self.extra_body = dict(extra_body or {})
        self.connect_timeout_s = connect_timeout_s
        self.info = EngineInfo(mode=options.mode, device=", ".join(s.url for s in self.servers))
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()
        self._model = options.server_model

    # --- the contract ----------------------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._client is not None

    @property
    def mode(self) -> str:
        return self.options.mode

    @property
    def modes(self) -> tuple[str, ...]:
        """In auto mode: both when every server is vLLM (it takes the mode per request); otherwise the server's
        projector fixes the mode, which PaperLens cannot see: it records 16x, the official projector's (a server run
        with PaperLens' 4x projector is used with --mode 4x instead)."""
        if self.options.mode != Mode.AUTO.value:
            return (self.options.mode,)
        kinds = (
            {s.kind for s in self.servers}
            if all(s.kind for s in self.servers)
            else {self.options.server_kind}
        )
        return IMAGE_MODES if kinds == {"vllm"} else (Mode.X16.value,)

    @property
    def identity(self) -> str:
        """ "remote:" + the served model's name: results of a server never mix with local ones or other models."""
        return f"remote:{self._model or '?'}"

    @property
    def context_tokens(self) -> int:
        return self.options.n_ctx

    @property
    def parallel_runs(self) -> int:
        return max(1, self.options.jobs or len(self.servers))

    def preflight(self) -> None:
        """Ask every server which model it serves: a wrong URL, a dead server or a refused key fails here."""
        self.load()

    def load(self) -> None:
        if self._client is not None:
            return
        client = httpx.Client(
            timeout=httpx.Timeout(self.options.page_timeout_s, connect=self.connect_timeout_s),
            headers=self._headers(),
            limits=httpx.Limits(max_connections=self.parallel_runs + len(self.servers)),
        )
        try:
            for server in self.servers:
                self._probe(client, server)
        except BaseException:
            client.close()
            raise
        models = {s.model for s in self.servers}
        if len(models) > 1:
            client.close()
            raise EngineError(
                "The servers serve different models: "
                + ", ".join(f"{s.url} has {s.model}" for s in self.servers)
                + ".",
                hint="Give servers of one model, or name it with --server-model.",
            )
        self._model = self.servers[0].model
        self._client = client
        kinds = ", ".join(sorted({s.kind for s in self.servers}))
        self.info = EngineInfo(
            text_model=self.identity, mode=self.mode, device=", ".join(s.url for s in self.servers)
        )
        log.info("remote engine: %s (%s) on %s", self._model, kinds, self.info.device)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def run(
        self,
        task: Task,
        image: Image.Image | None = None,
        *,
        on_chunk: ChunkCallback | None = None,
        cancel: threading.Event | None = None,
        max_tokens: int | None = None,
        page_key: str | None = None,
        mode: str | None = None,
    ) -> RunResult:
        client = self._client
        if client is None:
            raise EngineNotLoaded("The remote engine is not connected yet.")
        modes = self.modes
        if mode is not None and mode not in modes:
            raise ValueError(f"this engine reads pages in {', '.join(modes)}, not {mode!r}")
        cancel = cancel or threading.Event()
        uses_image = task.uses_image and image is not None
        if uses_image and mode is None:
            if len(modes) > 1 and image is not None:
                from paperlens.core.density import choose_mode

                mode = choose_mode(image)
            else:
                mode = modes[0]
        image_mode = mode if uses_image and mode else ""
        messages = chat_messages(task, image_data_url(image) if uses_image and image is not None else None)
        max_tokens = max_tokens or task.max_tokens or self.options.max_tokens
        stats = RunStats(mode=image_mode)
        shown = _Shown()  # what on_chunk has been given: a retried stream only adds what is new
        attempts = max(1, self.options.retries + 1)
        last_error = ""
        tried: set[str] = set()
        for attempt in range(attempts):
            if cancel.is_set():
                stats.wall_s = 0.0
                return RunResult(shown.text, Finish.CANCELLED, stats)
            server = self._pick(tried)
            try:
                with _gate(server, cancel) as entered:
                    if not entered:
                        return RunResult(shown.text, Finish.CANCELLED, stats)
                    text, finish, stats = self._stream(
                        client, server, messages, image_mode, max_tokens, cancel, shown, on_chunk
                    )
            except _Interrupted as exc:
                # not the server's failure: the same server, at once, and from now on one page at a time
                last_error = exc.reason
                if not server.one_at_a_time:
                    server.one_at_a_time = True
                    log.warning(
                        "%s ends an answer when another request waits (llama-cpp-python's server does unless "
                        "started with --interrupt_requests false); sending it one page at a time from now on",
                        server.url,
                    )
                continue
            except _Retry as exc:
                last_error = exc.reason
                tried.add(server.url)
                delay = exc.retry_after if exc.retry_after is not None else self.backoff_s * 2**attempt
                delay = min(delay, 30.0)
                if attempt + 1 < attempts:
                    log.warning("%s: %s; retrying in %.1fs", server.url, exc.reason, delay)
                    if cancel.wait(delay):
                        return RunResult(shown.text, Finish.CANCELLED, stats)
                continue
            finally:
                with self._lock:
                    server.in_flight -= 1
            return RunResult(text, finish, stats)
        raise PageRunError(f"The server did not answer for this page: {last_error}.", hint="Try again later.")

    # --- helpers -----------------------------------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        key = self.options.api_key or os.environ.get(API_KEY_ENV, "")
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _pick(self, avoid: set[str]) -> _Server:
        """The server with the fewest runs in flight (one that just failed only when no other is left)."""
        with self._lock:
            pool = [s for s in self.servers if s.url not in avoid] or self.servers
            server = min(pool, key=lambda s: s.in_flight)
            server.in_flight += 1
            return server

    def _probe(self, client: httpx.Client, server: _Server) -> None:
        url = f"{server.url}/v1/models"
        try:
            resp = client.get(url)
        except httpx.ConnectError as exc:
            raise EngineError(
                f"Nothing answers at {server.url} ({_reason(exc)}).",
                hint="Check the address and that the server is running.",
            ) from None
        except httpx.TimeoutException:
            raise EngineError(f"The server at {server.url} did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise EngineError(f"Could not reach {server.url}: {_reason(exc)}.") from None
        if resp.status_code in (401, 403):
            raise EngineError(
                f"The server at {server.url} refused the API key (HTTP {resp.status_code}).",
                hint=f"Set {API_KEY_ENV} to the server's key.",
            )
        try:
            resp.raise_for_status()
            data = resp.json()["data"]
            ids = [str(m["id"]) for m in data]
        except Exception:
            raise EngineError(
                f"{server.url} is not an OpenAI-compatible server (no model list at /v1/models).",
                hint="Give the server's base URL, e.g. http://gpu-box:8000.",
            ) from None
        if not ids:
            raise ModelNotFound(f"The server at {server.url} serves no model.")
        if self.options.server_model:
            if self.options.server_model not in ids:
                raise ModelNotFound(
                    f"The server at {server.url} does not serve {self.options.server_model!r}; "
                    f"it serves {', '.join(ids)}."
                )
            server.model = self.options.server_model
        else:
            liked = [i for i in ids if "minicpm" in i.lower()]
            server.model = (liked or ids)[0]
        owners = {str(m.get("owned_by", "")).lower() for m in data if isinstance(m, dict)}
        server.kind = self.options.server_kind
        if server.kind == "auto":
            server.kind = _detect_kind(client, server.url, owners)
        if server.kind in FIXED_16X and self.mode == "4x":
            raise EngineError(
                f"The server at {server.url} ({server.kind}) runs the model in 16x only.",
                hint="Use --mode 16x with it, or a llama.cpp server with PaperLens' 4x projector or vLLM for 4x.",
            )

    def _body(
        self, server: _Server, messages: list[dict[str, Any]], image_mode: str, max_tokens: int
    ) -> dict:
        """The request; `image_mode` is the page's mode ("" without an image), sent to vLLM per request."""
        body: dict[str, Any] = {
            "model": server.model,
            "messages": messages,
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": 0.0,  # greedy, as the local engine: the likeliest transcription
            "stream_options": {"include_usage": True},
        }
        if server.kind != "ollama":
            body["chat_template_kwargs"] = {"enable_thinking": False}
        if server.kind == "vllm" and image_mode:
            body["mm_processor_kwargs"] = {
                "downsample_mode": image_mode,
                "max_slice_nums": self.options.max_slices,
            }
        body.update(self.extra_body)
        return body

    def _stream(
        self,
        client: httpx.Client,
        server: _Server,
        messages: list[dict[str, Any]],
        image_mode: str,
        max_tokens: int,
        cancel: threading.Event,
        shown: _Shown,
        on_chunk: ChunkCallback | None,
    ) -> tuple[str, Finish, RunStats]:
        stats = RunStats(mode=image_mode)
        body = self._body(server, messages, image_mode, max_tokens)
        deadline = time.monotonic() + self.options.page_timeout_s
        t0 = time.perf_counter()
        text = ""
        think = _ThinkFilter()
        finish = Finish.STOP
        pieces = 0
        ended = False  # a finish reason came: a stream that stops without one was cut off

        def emit(piece: str) -> None:
            nonlocal text
            if not piece:
                return
            text += piece
            if len(text) > len(
                shown.text
            ):  # a retried stream repeats what was shown: pass on only what is new
                new = text[len(shown.text) :]
                shown.text = text
                if on_chunk is not None:
                    on_chunk(new)

        try:
            with client.stream("POST", f"{server.url}/v1/chat/completions", json=body) as resp:
                if resp.status_code != 200:
                    resp.read()
                    self._refuse(server, resp)
                for event in _events(resp.iter_lines()):
                    if cancel.is_set():
                        finish = Finish.CANCELLED
                        break  # leaving the block closes the stream: the server stops generating
                    if time.monotonic() > deadline:
                        raise PageRunError(
                            f"The server at {server.url} took longer than {self.options.page_timeout_s:.0f}s "
                            "for this page.",
                            hint="Raise --page-timeout or use a faster server.",
                        )
                    if event.get("[DONE]"):
                        if not ended:  # [DONE] with no finish reason: ended by the server, not finished
                            raise _Interrupted(
                                f"the server at {server.url} ended the answer early, without a finish reason "
                                "(llama-cpp-python's server does so when another request waits: start it with "
                                "--interrupt_requests false, or use --jobs 1)"
                            )
                        break
                    if "error" in event:
                        raise EngineError(f"The server at {server.url} failed: {_message(event)}")
                    usage = event.get("usage")
                    if usage:
                        stats.prompt_tokens = int(usage.get("prompt_tokens") or 0)
                        stats.generated_tokens = int(usage.get("completion_tokens") or 0)
                    for choice in event.get("choices") or ():
                        piece = (choice.get("delta") or {}).get("content") or ""
                        if piece:
                            if not stats.ttft_s:
                                stats.ttft_s = time.perf_counter() - t0
                            pieces += 1
                            emit(think.feed(piece))
                        reason = choice.get("finish_reason")
                        ended = ended or bool(reason)
                        if reason == "length":
                            finish = Finish.LENGTH
        except httpx.TimeoutException:
            raise PageRunError(
                f"The server at {server.url} sent nothing for {self.options.page_timeout_s:.0f}s.",
                hint="Raise --page-timeout or use a faster server.",
            ) from None
        except httpx.ConnectError as exc:
            raise _Retry(f"could not connect to {server.url} ({_reason(exc)})") from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise _Retry(f"the connection to {server.url} dropped ({_reason(exc)})") from None
        if finish != Finish.CANCELLED and not ended:
            raise _Retry(f"the answer from {server.url} stopped before its end")
        if finish != Finish.CANCELLED:
            emit(think.flush())
        elif len(shown.text) > len(text):
            text = shown.text  # cancelled while a retry repeated what was shown: keep what the user saw
        stats.wall_s = time.perf_counter() - t0
        stats.generated_tokens = stats.generated_tokens or pieces
        decode_s = stats.wall_s - stats.ttft_s
        if stats.generated_tokens > 1 and decode_s > 0:
            stats.decode_tokens_per_s = (stats.generated_tokens - 1) / decode_s
        return text, finish, stats

    def _refuse(self, server: _Server, resp: httpx.Response) -> None:
        """Turn a non-200 answer into a retry or one sentence."""
        status, message = resp.status_code, _message(_json(resp))
        if status in RETRY_STATUS:
            raise _Retry(f"HTTP {status} from {server.url}", _retry_after(resp))
        if status in (401, 403):
            raise EngineError(
                f"The server at {server.url} refused the API key (HTTP {status}).",
                hint=f"Set {API_KEY_ENV} to the server's key.",
            )
        if status == 404 and "model" in message.lower():
            raise ModelNotFound(
                f"The server at {server.url} does not have the model {server.model!r}: {message}"
            )
        if status == 404:
            raise EngineError(f"{server.url} has no /v1/chat/completions: is it an OpenAI-compatible server?")
        if status in (400, 422, 500) and _NO_VISION.search(message):
            raise EngineError(
                f"The server at {server.url} cannot read images: {message}",
                hint="Start it with the vision projector (llama-server --mmproj FILE) or a vision model.",
            )
        raise PageRunError(
            f"The server at {server.url} answered HTTP {status}: {message or resp.reason_phrase}"
        )


@dataclass
class _Shown:
    text: str = ""


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Interrupted(_Retry):
    """The stream ended with `[DONE]` before any finish reason: the server gave up on this answer for another."""


@contextlib.contextmanager
def _gate(server: _Server, cancel: threading.Event) -> Iterator[bool]:
    """Holds the server's gate while a page streams, when it takes one page at a time; yields False when cancelled
    while waiting for it."""
    if not server.one_at_a_time:
        yield True
        return
    while not server.gate.acquire(timeout=0.1):
        if cancel.is_set():
            yield False
            return
    try:
        yield True
    finally:
        server.gate.release()


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream, up to `[DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            yield {"[DONE]": True}
            return
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event


def _detect_kind(client: httpx.Client, url: str, owners: set[str]) -> str:
    for kind, marks in (("vllm", {"vllm"}), ("sglang", {"sglang"}), ("llama", {"llamacpp", "me"})):
        if owners & marks:
            return kind
    try:  # Ollama answers its own version endpoint beside the OpenAI one
        resp = client.get(f"{url}/api/version")
        if resp.status_code == 200 and "version" in _json(resp):
            return "ollama"
    except httpx.HTTPError:
        pass
    return "llama"  # a generic OpenAI server: the mode is whatever it runs, as with llama.cpp


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except Exception:
        return {"error": resp.text[:300]} if resp.text else {}
    return data if isinstance(data, dict) else {}


def _message(data: dict[str, Any]) -> str:
    err = data.get("error", data.get("detail", data.get("message", "")))
    if isinstance(err, dict):
        err = err.get("message", "") or json.dumps(err)
    return str(err).strip()[:300]


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers.get("retry-after", "")))
    except ValueError:
        return None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    if "refused" in text.lower():
        return "connection refused"
    return text[:200] or type(exc).__name__


def remote_engine(options: EngineOptions) -> RemoteEngine:
    return RemoteEngine(options)
