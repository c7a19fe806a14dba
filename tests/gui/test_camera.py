"""The camera dialog on a video file: live outline, auto-capture when steady, dragged corners, pages join the document."""

from __future__ import annotations

import pytest

from paperlens.gui.camera import CameraDialog
from tests.gui.helpers import page_image, write_page_video


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_page_video(tmp_path_factory.mktemp("video") / "page.avi")


@pytest.fixture
def dialog(qtbot, settings, video):
    d = CameraDialog(settings, source=str(video), hold_s=0.5)
    qtbot.addWidget(d)
    d.show()
    yield d
    d.stop()


def test_live_preview_outlines_the_page_and_auto_captures_when_steady(qtbot, dialog):
    qtbot.waitUntil(lambda: dialog._review is not None, timeout=8000)
    corners = dialog.view.corners
    assert dialog.frames_shown > 3 and dialog.view.editable
    # the page in the video sits at about (190,60) (450,75) (470,430) (170,415)
    for (x, y), (ex, ey) in zip(corners, [(190, 60), (450, 75), (470, 430), (170, 415)], strict=True):
        assert abs(x - ex) < 15 and abs(y - ey) < 15
    assert dialog.accept_button.isEnabled() and not dialog.capture_button.isEnabled()


def test_dragged_corners_are_used_and_the_page_is_flattened(qtbot, dialog):
    qtbot.waitUntil(lambda: dialog._review is not None, timeout=8000)
    # WHEN the user drags the bottom-left corner up to the middle of the page's left side
    dialog.view.move_corner(3, (180, 240))
    dialog.enhance.setChecked(False)
    dialog.accept_capture()
    qtbot.waitUntil(lambda: len(dialog.captured) == 1, timeout=5000)
    page = dialog.captured[0]
    # THEN the flattened page is the upper part only: wider than tall relative to a full page
    assert page.height < page.width * 1.2
    assert dialog.strip.count() == 1 and dialog.done_button.text() == "Done (1)"


def test_captures_join_the_current_document(qtbot, window, video):
    s = window.open_image(page_image("first"), "Doc")
    window._camera_factory = lambda settings, parent: CameraDialog(
        settings, parent, source=str(video), hold_s=0.5
    )
    window.open_camera()
    dialog = window._camera
    qtbot.waitUntil(lambda: dialog._review is not None, timeout=8000)
    dialog.accept_capture()
    qtbot.waitUntil(lambda: len(dialog.captured) == 1, timeout=5000)
    dialog.finish()
    assert s.page_count == 2 and window.current_page == 2
    assert s.page(2).source == "camera"


def test_a_source_that_cannot_open_says_why(qtbot, settings, tmp_path):
    d = CameraDialog(settings, source=str(tmp_path / "nothing.avi"))
    qtbot.addWidget(d)
    assert "no video file" in d.status.text().lower()
    assert not d.streaming


def test_manual_capture_without_a_page_starts_from_the_whole_frame(qtbot, settings, video):
    settings.auto_capture = False
    dialog = CameraDialog(settings, source=str(video), hold_s=0.5)
    qtbot.addWidget(dialog)
    assert not dialog.auto.isChecked()
    qtbot.waitUntil(lambda: dialog._latest is not None, timeout=5000)
    dialog._latest = (dialog._latest[0], None, dialog._latest[2])  # as if no page were found in this frame
    dialog.capture_now()
    xs = [x for x, _ in dialog.view.corners]
    assert min(xs) < 40 and max(xs) > 600  # the outline starts at the frame's edges, ready to be dragged
    dialog.retake()
    assert dialog._review is None and not dialog.view.editable
    dialog.stop()
