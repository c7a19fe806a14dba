"""`paperlens models download|verify` against the hub look-alike, then real llama.cpp on what was downloaded;
nothing reaches any host but 127.0.0.1, and only for the download."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperlens.cli import main
from paperlens.core.models import _rewrite_gguf, inspect_gguf
from tests.conftest import a4_page

pytestmark = pytest.mark.integration


@pytest.fixture
def connects(monkeypatch):
    """Every socket connect PaperLens attempts; any host but 127.0.0.1 is refused (and recorded)."""
    seen: list[object] = []
    real = socket.socket.connect

    def guarded(self, address):
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else address
        if host != "127.0.0.1":
            raise OSError(f"test: no network to {address}")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return seen


def test_download_then_parse_and_ask_without_any_other_network(hub, tmp_path, connects, capsys):
    folder = tmp_path / "models"
    # WHEN the user asks for the download
    rc = main(["models", "download", "--model-dir", str(folder), "--endpoint", hub.endpoint])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Downloaded and verified: MiniCPM-V-4.6-Q4_K_M.gguf" in out and "modes: 16x, 4x" in out
    # THEN only the hub on 127.0.0.1 was contacted
    assert connects and all(a[0] == "127.0.0.1" for a in connects)
    connects.clear()
    # AND parsing and asking with the downloaded files contact nobody
    page = tmp_path / "page.png"
    a4_page().save(page)
    rc = main(["parse", str(page), "--model-dir", str(folder), "--mode", "16x", "--max-tokens", "8"])
    assert rc == 0
    rc = main(["ask", str(page), "What is the total?", "--model-dir", str(folder), "--mode", "16x",
               "--max-tokens", "8"])  # fmt: skip
    assert rc == 0
    assert connects == []
    # AND `models` shows what is in use
    assert main(["models", "--model-dir", str(folder)]) == 0
    listing = capsys.readouterr().out
    assert "* MiniCPM-V-4.6-Q4_K_M.gguf" in listing
    assert "derived by PaperLens" in listing


def test_list_shows_the_quantizations_and_downloads_nothing(hub, tmp_path, capsys):
    rc = main(
        ["models", "download", "--list", "--endpoint", hub.endpoint, "--model-dir", str(tmp_path / "m")]
    )
    out = capsys.readouterr().out
    assert rc == 0
    for quant in ("Q4_K_M", "Q8_0", "F16"):
        assert f"MiniCPM-V-4.6-{quant}.gguf" in out
    assert "mmproj-model-f16.gguf" in out and "Total:" in out
    assert not [r for r in hub.requests if "/resolve/" in r.path]


def test_a_chosen_quantization_and_unknown_ones(hub, tmp_path, capsys):
    folder = tmp_path / "m"
    assert (
        main(
            ["models", "download", "--quant", "Q8_0", "--endpoint", hub.endpoint, "--model-dir", str(folder)]
        )
        == 0
    )
    assert (folder / "MiniCPM-V-4.6-Q8_0.gguf").exists()
    rc = main(
        ["models", "download", "--quant", "Q2_K", "--endpoint", hub.endpoint, "--model-dir", str(folder)]
    )
    assert rc == 8 and "no Q2_K text model; it offers" in capsys.readouterr().err


def test_server_down_is_one_sentence(hub, tmp_path, capsys):
    endpoint = hub.endpoint
    hub.stop()
    rc = main(["models", "download", "--endpoint", endpoint, "--model-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert rc == 8 and f"paperlens: Cannot reach {endpoint}" in err and "Traceback" not in err


def test_verify_finds_a_damaged_file(hub, tmp_path, capsys):
    folder = tmp_path / "m"
    assert main(["models", "download", "--endpoint", hub.endpoint, "--model-dir", str(folder)]) == 0
    assert main(["models", "verify", "--model-dir", str(folder)]) == 0
    assert "OK  mmproj-model-f16.gguf: metadata and SHA-256 OK" in capsys.readouterr().out
    text = folder / "MiniCPM-V-4.6-Q4_K_M.gguf"
    data = bytearray(text.read_bytes())
    data[-10] ^= 0xFF
    text.write_bytes(bytes(data))
    assert main(["models", "verify", "--model-dir", str(folder)]) == 3
    assert "BAD MiniCPM-V-4.6-Q4_K_M.gguf: SHA-256 differs" in capsys.readouterr().out


def test_the_thinking_model_is_named_not_a_generic_mismatch(tiny_twin, tmp_path, capsys):
    import gguf

    folder = tmp_path / "m"
    folder.mkdir()
    thinking = folder / "MiniCPM-V-4.6-Thinking-Q4_K_M.gguf"
    _rewrite_gguf(
        Path(tiny_twin.text),
        thinking,
        set_kv={"general.name": ("MiniCPM-V-4.6-Thinking", gguf.GGUFValueType.STRING)},
        keep_tensor=lambda name: True,
    )
    info = inspect_gguf(thinking)
    assert info.variant == "thinking" and not info.usable
    assert main(["models", "--model-dir", str(folder)]) == 3
    out = capsys.readouterr().out
    assert "MiniCPM-V 4.6 Thinking" in out and "can be removed" in out


@pytest.mark.parametrize("mode", ["16x", "4x"])
def test_low_memory_derives_a_q8_0_projector_that_llama_cpp_runs(fresh_model_dir, tmp_path, mode, capsys):
    import gguf

    from paperlens.core.models import scan_model_dir

    page = tmp_path / "page.png"
    a4_page().save(page)
    # WHEN parsing with --low-memory
    args = ["parse", str(page), "--model-dir", str(fresh_model_dir), "--mode", mode, "--max-tokens", "8"]
    assert main([*args, "--low-memory", "--format", "json"]) == 0
    # THEN the mode's Q8_0 projector was written next to the full one and is found by its metadata
    found = scan_model_dir(fresh_model_dir)
    compact = found.compact[mode]
    assert compact.quantization == "Q8_0" and compact.mode == mode and compact.usable
    assert found.projectors[mode].quantization != "Q8_0"  # the full one stays the default
    types = {t.name: t.tensor_type for t in gguf.GGUFReader(compact.path).tensors}
    assert gguf.GGMLQuantizationType.Q8_0 in types.values()
    assert all(types[n] != gguf.GGMLQuantizationType.Q8_0 for n in types if not n.endswith(".weight"))
    assert compact.size < found.projectors[mode].size
    assert not list(fresh_model_dir.glob(".*.tmp"))
    # AND it is reused, not written again
    mtime = compact.path.stat().st_mtime_ns
    assert main([*args, "--low-memory"]) == 0
    assert compact.path.stat().st_mtime_ns == mtime


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_a_download_stopped_by_ctrl_c_or_kill_9_resumes_where_it_stopped(hub, tmp_path, stop):
    from paperlens.core.download import partial_files

    # GIVEN a slow download running in its own process
    folder = tmp_path / "m"
    hub.delay = 0.05
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "paperlens",
            "models",
            "download",
            "--endpoint",
            hub.endpoint,
            "--model-dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # WHEN it is stopped once some bytes are on disk (Ctrl-C, or kill -9 as a crash or power cut would)
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size > 0 for p in partial_files(folder)):
            assert proc.poll() is None and time.monotonic() < deadline, "the download never started"
            time.sleep(0.05)  # polling a file's size: the condition itself
        proc.send_signal(stop)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    # THEN Ctrl-C exits 130 and, either way, the partial file stays and nothing half-written is in the folder
    assert rc == (130 if stop == signal.SIGINT else -signal.SIGKILL)
    kept = {p.name: p.stat().st_size for p in partial_files(folder)}
    assert kept and all(size > 0 for size in kept.values())
    assert not [p for p in folder.glob("*.gguf")] or all(p.stat().st_size > 0 for p in folder.glob("*.gguf"))
    # AND the next download continues with a Range request from where it stopped, and finishes
    hub.delay = 0.0
    hub.requests.clear()
    assert main(["models", "download", "--endpoint", hub.endpoint, "--model-dir", str(folder)]) == 0
    ranges = [r.range for r in hub.requests if r.method == "GET" and r.range]
    assert any(r.startswith("bytes=") and not r.startswith("bytes=0-") for r in ranges), ranges
    assert not partial_files(folder)
