"""GUI test fixtures: offscreen Qt, throw-away settings, and windows driven by a fake (or the tiny real) engine."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import: no display needed

import pytest  # noqa: E402

import paperlens.gui  # noqa: E402, F401  (applies the binding work-arounds before pytest-qt makes the QApplication)


@pytest.fixture
def settings(tmp_path):
    """Settings in an INI file of the test's own: never the user's, never shared between tests."""
    from PySide6.QtCore import QSettings

    from paperlens.gui.settings import Settings

    return Settings(QSettings(str(tmp_path / "paperlens.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def fake_factory():
    from tests.gui.fakes import FakeEngineFactory

    return FakeEngineFactory()


@pytest.fixture
def make_window(qtbot, settings, fake_factory):
    """Build a MainWindow (fake engine, no cache, no model-folder scan unless asked); closed and checked at the end."""
    from paperlens.gui.main_window import MainWindow

    made = []

    def make(factory=None, *, model_check=None, library_factory=lambda: None, **kwargs):
        window = MainWindow(
            kwargs.pop("settings", settings),
            engine_factory=factory or fake_factory,
            library_factory=library_factory,
            model_check=model_check,
            **kwargs,
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()
        assert not window.host.running, "the model thread must have stopped when the window closed"


@pytest.fixture
def window(make_window):
    return make_window()
