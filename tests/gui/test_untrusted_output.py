"""The model's text is drawn, never followed: images, raw HTML and scripts from a page load nothing.

A page can say anything, and the model may copy it. Qt's rich text would fetch `![](path)` and `<img src>` itself, on
the GUI thread: pointed at a FIFO, the window hung for good (and again on every reopen, the result being cached).
"""

from __future__ import annotations

import os
import threading

import pytest

from paperlens.core.results.markdown import markdown_to_html


def hostile_markdown(target: str) -> str:
    return (
        f'# Invoice\n\n![page scan]({target})\n\n<img src="{target}">\n\n'
        f'Total <img src="file://{target}"> due <script>alert(1)</script> now.\n\n'
        f'<div style="background:url({target})">styled</div>\n'
    )


def test_the_dialect_draws_no_resource_and_no_script():
    html = markdown_to_html(hostile_markdown("/dev/zero"))
    assert "<img" not in html and "src=" not in html and "url(" not in html
    assert "<script" not in html  # an inline script's words may stay, as plain text: nothing runs them
    assert "[page scan]" in html and "Total" in html and "styled" in html


@pytest.fixture
def fifo(tmp_path):
    """A FIFO and a watcher that notices (and releases) any reader that opens it."""
    path = tmp_path / "page.png"
    os.mkfifo(path)
    state = {"reader_seen": False, "ours": False}

    def watch() -> None:
        fd = os.open(path, os.O_WRONLY)  # returns when a reader opens the FIFO
        state["reader_seen"] = not state["ours"]
        os.write(fd, b"x")
        os.close(fd)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    yield path, state
    state["ours"] = True
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # lets the watcher finish
    t.join(timeout=10)
    os.close(fd)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are a POSIX thing")
def test_a_fifo_named_by_the_model_is_never_opened(qtbot, window, fifo):
    from paperlens.gui.safe_browser import SafeTextBrowser
    from tests.gui.helpers import page_image

    path, state = fifo
    # WHEN the model's text names the FIFO (as a Markdown image, an <img>, a file: URL) in the window's views
    window.open_image(page_image(), "Doc")
    window.markdown.show_text(hostile_markdown(str(path)), key="k")
    # THEN what the view draws names no resource at all
    assert "<img" not in window.markdown.browser.toHtml().split("<body")[-1]
    # AND even HTML set on a view directly (the second wall) makes it ask for the file, and be refused
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)
    browser.show()
    browser.setHtml(f'<img src="{path}"><img src="file://{path}"><p>direct</p>')
    browser.viewport().repaint()
    qtbot.waitUntil(lambda: len(browser.refused) >= 1, timeout=5000)
    assert all(str(path) in url for url in browser.refused)
    assert not state["reader_seen"]  # nothing ever opened the FIFO
