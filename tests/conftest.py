"""Shared fixtures: the tiny synthetic twin (built once per test session) and a clean user environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Tests never read or write the real user's model folder, library or settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("PAPERLENS_MODEL_DIR", raising=False)
    monkeypatch.delenv("PAPERLENS_FAKE_AVAILABLE_MB", raising=False)


@pytest.fixture(scope="session")
def tiny_twin(tmp_path_factory):
    """The tiny twin's files (real architecture, random weights, a few MB), built once for the whole session."""
    from paperlens.dev.synth import cached_twin

    return cached_twin("tiny", tmp_path_factory.mktemp("twin-cache"))


@pytest.fixture
def hub(tiny_twin, tmp_path):
    """A hub look-alike on 127.0.0.1 serving the tiny twin as the official repository (for downloads)."""
    from paperlens.core.models import OFFICIAL_REPO
    from tests.hub_server import FakeHub, official_twin_repo

    fake = FakeHub()
    fake.add_repo(OFFICIAL_REPO, official_twin_repo(tiny_twin, tmp_path / "served"))
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_twin, tmp_path_factory) -> Path:
    """A model folder holding just the twin's text model and 16x projector, shared by the session."""
    folder = tmp_path_factory.mktemp("models")
    for f in (tiny_twin.text, tiny_twin.projector):
        shutil.copy2(f, folder / f.name)
    return folder


@pytest.fixture
def fresh_model_dir(tiny_twin, tmp_path) -> Path:
    """A model folder of the test's own, for tests that damage or add files."""
    folder = tmp_path / "models"
    folder.mkdir()
    for f in (tiny_twin.text, tiny_twin.projector):
        shutil.copy2(f, folder / f.name)
    return folder


def a4_page(text: str = "Invoice 2026-11 Total 42.00", size=(1240, 1754)):
    """A white A4 page at 150 dpi with a few lines of text: what a rendered PDF page looks like to the engine."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=24)  # about 11 pt at 150 dpi
    for i, line in enumerate([text, "Item  Qty  Price", "Paper  2  10.00", "Ink  1  22.00"]):
        draw.text((120, 150 + 60 * i), line, fill="black", font=font)
    return img


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_models(url: str, proc=None, timeout: float = 120.0) -> None:
    """Poll the server's /v1/models until it answers (bounded); fail early when the process died."""
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer /v1/models within {timeout:.0f}s")


@pytest.fixture(scope="session")
def llama_server(tiny_twin, tmp_path_factory):
    """llama-cpp-python's own OpenAI-compatible server with the tiny twin and its projector, on 127.0.0.1."""
    import subprocess
    import sys

    pytest.importorskip("uvicorn", reason="needs llama-cpp-python[server] (the dev extra)")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama-server") / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(tiny_twin.text),
            "--clip_model_path",
            str(tiny_twin.projector),
            "--chat_format",
            "mtmd",
            "--n_ctx",
            "4096",
            "--chat_template_kwargs",
            '{"enable_thinking": false}',
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_models(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
