"""A flattened photo in the window: the notice, the review of the outline, and *Use original* undoing it."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt

from paperlens.core.documents import open_document
from paperlens.core.page import Flattened
from paperlens.core.runs import PageResult
from paperlens.gui.flatten_review import FlattenReview
from tests.unit.scenes import page_image, photo

FLAT = Flattened(
    corners=((100, 50), (500, 60), (520, 560), (90, 540)), confidence=0.93, original_size=(1200, 900)
)


def test_the_review_draws_the_outline_scaled_to_the_image_and_emits_the_choice(qtbot):
    review = FlattenReview(Image.new("RGB", (600, 450), "gray"), FLAT, page=2)  # the file scaled by half
    qtbot.addWidget(review)
    assert review.canvas.corners == [(50, 25), (250, 30), (260, 280), (45, 270)]
    assert "Page 2" in review.label.text() and "93%" in review.label.text()
    seen = []
    review.use_original.connect(lambda: seen.append("use_original"))
    review.keep_flattened.connect(lambda: seen.append("keep_flattened"))
    with qtbot.waitSignal(review.chosen) as blocker:
        qtbot.mouseClick(review.original_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["original"] and seen == ["use_original"]
    with qtbot.waitSignal(review.chosen) as blocker:
        qtbot.mouseClick(review.keep_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["flattened"] and seen == ["use_original", "keep_flattened"]
    review.resize(700, 500)
    review.canvas.grab()  # paints without error


def photo_file(tmp_path):
    frame, _corners = photo(
        page=page_image(kind="text", seed=3), bg="dark", tilt_x=-12, tilt_y=14, roll=8, seed=3
    )
    path = tmp_path / "photo.png"
    Image.fromarray(frame[:, :, ::-1]).save(path)
    with open_document(path, flatten=False) as doc:
        whole = doc.page(0).image.size
    return path, whole


def test_a_flattened_photo_says_so_and_use_original_gives_the_whole_photo(qtbot, window, tmp_path):
    path, whole = photo_file(tmp_path)
    (s,) = window.open_paths([path])
    notice = window.flattening.notice
    qtbot.waitUntil(notice.isVisible, timeout=10_000)
    assert notice.text == "Page 1: the photo was straightened to the page found in it. Review…"
    flattened = s.cached_page(1)
    assert flattened.flattened is not None and flattened.image.size != whole
    s.results[1] = PageResult(1, "text read from the straightened page")  # as if parsed before the review

    qtbot.mouseClick(notice.review_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.flattening.dialog is not None and window.flattening.dialog.isVisible())
    review = window.flattening.dialog.review
    assert review.canvas.image.size().toTuple() == whole
    qtbot.mouseClick(review.original_button, Qt.MouseButton.LeftButton)

    assert s.page(1).image.size == whole and s.page(1).flattened is None
    assert 1 not in s.results  # the old text was of another image
    assert not notice.isVisible()
    assert "whole photo" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.cache.image(s, 1) is not None, timeout=10_000)
    assert window.cache.image(s, 1).size().toTuple() == whole  # the view shows the original
    qtbot.waitUntil(lambda: window.flattening.dialog is None or not window.flattening.dialog.isVisible())


def test_keep_flattened_hides_the_notice_for_that_page(qtbot, window, tmp_path):
    path, _whole = photo_file(tmp_path)
    (s,) = window.open_paths([path])
    qtbot.waitUntil(window.flattening.notice.isVisible, timeout=10_000)
    window.flattening.keep()
    window.select_page(1)
    window.flattening.check()
    assert not window.flattening.notice.isVisible() and s.cached_page(1).flattened is not None


def test_a_scan_shows_no_notice(qtbot, window, tmp_path):
    path = tmp_path / "scan.png"
    Image.fromarray(page_image(kind="text")[:, :, ::-1].copy()).save(path)
    (s,) = window.open_paths([path])
    qtbot.waitUntil(lambda: window.cache.image(s, 1) is not None, timeout=10_000)
    assert not window.flattening.notice.isVisible()
