"""The page view gets at most DISPLAY_PIXELS, scaled on the pool: the GUI thread never converts a poster-sized page."""

from __future__ import annotations

import threading

from PIL import Image

from paperlens.gui import page_cache
from paperlens.gui.page_cache import DISPLAY_PIXELS, for_display
from tests.gui.helpers import wait_idle


def test_a_poster_sized_page_is_shown_smaller_and_a_normal_page_as_it_is():
    poster = Image.new("RGB", (8000, 5000), "white")  # 40 MP, what the render budget allows
    shown = for_display(poster)
    assert shown.width * shown.height <= DISPLAY_PIXELS
    assert abs(shown.width / shown.height - 8000 / 5000) < 0.01
    a4 = Image.new("RGB", (2480, 3508), "white")  # A4 at 300 dpi: shown whole
    assert for_display(a4) is a4


def test_the_scaling_happens_off_the_gui_thread(qtbot, window, tmp_path, monkeypatch):
    import pymupdf

    path = tmp_path / "poster.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=5000, height=3000)  # renders at the 40-megapixel budget
    page.insert_text((100, 200), "Poster", fontsize=120)
    doc.save(str(path))
    threads: list[str] = []
    real = page_cache.for_display

    def spy(image):
        threads.append(threading.current_thread().name)
        return real(image)

    monkeypatch.setattr(page_cache, "for_display", spy)
    window.open_paths([path])
    qtbot.waitUntil(lambda: window.page_view._item.pixmap().width() > 0, timeout=30_000)
    pixmap = window.page_view._item.pixmap()
    assert pixmap.width() * pixmap.height() <= DISPLAY_PIXELS
    assert threads and threading.main_thread().name not in threads
    wait_idle(qtbot, window)
