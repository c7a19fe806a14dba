"""The window's mode choice offers Auto; choosing it builds the engine in auto mode."""

from __future__ import annotations

from tests.gui.helpers import page_image, wait_idle


def test_auto_is_offered_in_the_status_bar_and_the_settings_and_reaches_the_engine(
    qtbot, window, fake_factory
):
    from paperlens.gui.dialogs import SettingsDialog

    box = window.mode_box
    assert box.findData("auto") >= 0 and box.itemText(box.findData("auto")) == "Auto"
    dialog = SettingsDialog(window.settings, "/default/models", window)
    qtbot.addWidget(dialog)
    assert dialog.mode.itemText(dialog.mode.findData("auto")).startswith("Auto (4x for dense pages")

    box.setCurrentIndex(box.findData("auto"))
    assert window.settings.mode == "auto"
    window.open_image(page_image(), "Doc")
    window.parse_current_page()
    wait_idle(qtbot, window)
    assert fake_factory.specs[-1].mode == "auto"
