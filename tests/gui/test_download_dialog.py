"""The Download Model dialog against the hub look-alike: the offer, progress, Cancel and resume, and the model
loaded by the window afterwards without a restart; and a window that touches no network at all on its own."""

from __future__ import annotations

import socket

import pytest

from paperlens.core import download as dl
from paperlens.core.models import scan_model_dir
from paperlens.gui.model_check import default_model_check
from paperlens.gui.worker import real_engine_factory

pytestmark = pytest.mark.integration


@pytest.fixture
def empty_window(make_window, settings, hub, tmp_path):
    """The real window (real engine factory and model check) on an empty model folder, the mirror set to the fake."""
    settings.model_dir = str(tmp_path / "models")
    settings.mode = "16x"
    settings.device = "cpu"
    settings.threads = 2
    settings.hub_endpoint = hub.endpoint
    return make_window(real_engine_factory, model_check=default_model_check, n_ctx=4096, max_tokens=8)


def open_dialog(qtbot, window):
    qtbot.waitUntil(lambda: window.banner.kind == "missing", timeout=10_000)
    assert window.banner.download_button.isVisible()
    window.banner.download_button.click()
    dialog = window.models.download_dialog
    qtbot.waitUntil(lambda: dialog.quant.count() == 3, timeout=10_000)
    return dialog


def test_the_dialog_lists_downloads_and_the_window_loads_the_model(qtbot, empty_window, hub, tmp_path):
    window = empty_window
    # GIVEN the dialog opened from the first-run strip: the offer, the total and the free space
    dialog = open_dialog(qtbot, window)
    assert dialog.quant.currentData() == "Q4_K_M"
    assert [dialog.quant.itemData(i) for i in range(3)] == ["Q4_K_M", "Q8_0", "F16"]
    assert "mmproj-model-f16.gguf" in dialog.projector_label.text()
    assert "to download" in dialog.total_label.text() and "free" in dialog.space_label.text()
    assert window.act_download_model.text() == "&Download Model…"
    seen = []
    dialog.progressed.connect(seen.append)
    # WHEN Download is pressed
    with qtbot.waitSignal(dialog.downloaded, timeout=60_000):
        dialog.download_button.click()
    # THEN the progress went through every phase, and the window loads the model without a restart
    phases = {p.phase for p in seen}
    assert {"download", "verify", "derive", "done"} <= phases
    assert any("MB/s" in p.describe() for p in seen if p.phase == "download")
    qtbot.waitUntil(lambda: window.models.engine_info is not None, timeout=60_000)
    assert window.models.engine_info.text_model == "MiniCPM-V-4.6-Q4_K_M.gguf"
    assert not window.banner.isVisible()
    assert scan_model_dir(tmp_path / "models").complete


def test_cancel_keeps_the_partial_file_and_the_next_download_resumes(qtbot, empty_window, hub, tmp_path):
    folder = tmp_path / "models"
    dialog = open_dialog(qtbot, empty_window)
    hub.delay = 0.02  # a slow server: the download is still running when Cancel is pressed
    dialog.download_button.click()
    qtbot.waitUntil(
        lambda: (
            dialog.last_progress is not None
            and dialog.last_progress.phase == "download"
            and dialog.last_progress.done > 0
        ),
        timeout=20_000,
    )
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.running, timeout=20_000)
    assert "kept" in dialog.error and dialog.isVisible()
    partial = dl.partial_files(folder)
    assert len(partial) == 1 and partial[0].stat().st_size > 0
    kept = partial[0].stat().st_size
    assert not scan_model_dir(folder).files  # nothing half-written where the model scan looks
    # WHEN Download is pressed again
    hub.delay = 0.0
    assert dialog.download_button.text() == "Download (continues)"
    with qtbot.waitSignal(dialog.downloaded, timeout=60_000):
        dialog.download_button.click()
    # THEN it continued with a Range request from what was kept
    assert f"bytes={kept}-" in hub.ranges(partial[0].name.removesuffix(".part"))
    assert scan_model_dir(folder).complete


def test_the_window_sends_nothing_to_the_network(qtbot, make_window, settings, tiny_model_dir, monkeypatch):
    attempts = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("test: no network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    settings.model_dir = str(tiny_model_dir)
    settings.mode = "16x"
    settings.device = "cpu"
    window = make_window(real_engine_factory, model_check=default_model_check, n_ctx=4096, max_tokens=8)
    qtbot.waitUntil(lambda: window.models.ok is True, timeout=20_000)
    window.host.preload()
    qtbot.waitUntil(lambda: window.models.engine_info is not None, timeout=60_000)
    assert attempts == []
