"""The window with its model on a server: Settings > Run the model on > A server, against llama-cpp-python's own
OpenAI-compatible server on 127.0.0.1 with the tiny twin."""

from __future__ import annotations

import pytest

from paperlens.gui.model_check import default_model_check
from paperlens.gui.worker import default_library_factory, real_engine_factory
from tests.gui.helpers import wait_idle, write_pdf

pytestmark = pytest.mark.integration


def test_the_window_parses_on_a_server_with_no_model_on_this_computer(
    qtbot, make_window, settings, llama_server, tmp_path
):
    # GIVEN no model files here, and the setting "run the model on a server"
    settings.model_dir = str(tmp_path / "no-models")
    settings.mode = "16x"  # what the server's projector is
    settings.run_on = "remote"
    settings.server_url = llama_server
    window = make_window(
        real_engine_factory,
        model_check=default_model_check,
        library_factory=default_library_factory,
        n_ctx=4096,
        max_tokens=8,
    )
    # THEN no "model not installed" banner: the model is the server's
    qtbot.waitUntil(lambda: window.models.ok is True, timeout=10_000)
    assert window.banner.isHidden() and window._engine_options().engine == "remote"
    # WHEN a page is parsed, THEN its text comes from the server, streamed into the window
    s = window.open_paths([write_pdf(tmp_path / "doc.pdf", pages=1)])[0]
    window.parse_current_page()
    wait_idle(qtbot, window, 120_000)
    r = s.results[1]
    assert r.ok and r.markdown.strip() and r.finish.complete
    assert window._engine_options().server_urls == (llama_server,)
