"""The typed settings: declared defaults, junk tolerated, the recent list."""

from __future__ import annotations

from paperlens.core.options import EngineOptions
from paperlens.gui.settings import RECENT_LIMIT


def test_defaults_are_declared_values(settings):
    # GIVEN a fresh settings file
    # THEN every value is its declared default, with its declared type
    assert settings.mode == "auto"
    assert settings.device == "auto"
    assert settings.gpu_layers == -1
    assert settings.threads == 0
    assert settings.dpi == 0
    assert settings.model_dir == ""
    assert settings.recent_files == []
    assert settings.geometry.isEmpty()


def test_values_round_trip_through_the_file(settings):
    settings.mode = "16x"
    settings.threads = 3
    settings.dpi = 200
    settings.model_dir = "/models"
    settings.sync()
    from PySide6.QtCore import QSettings

    from paperlens.gui.settings import Settings

    again = Settings(QSettings(settings.qsettings.fileName(), QSettings.Format.IniFormat))
    assert (again.mode, again.threads, again.dpi, again.model_dir) == ("16x", 3, 200, "/models")
    assert again.engine_options(n_ctx=4096) == EngineOptions("/models", "16x", "auto", -1, 3, 4096, 4096)


def test_junk_in_the_file_falls_back_to_the_default(settings):
    # GIVEN values a hand-edited or older file could hold
    settings.qsettings.setValue("model/mode", "8x")
    settings.qsettings.setValue("model/threads", "many")
    settings.qsettings.setValue("documents/recent", "{not json")
    # THEN reading them gives the defaults instead of raising
    assert settings.mode == "auto"
    assert settings.threads == 0
    assert settings.recent_files == []


def test_recent_files_most_recent_first_without_duplicates(settings):
    for i in range(RECENT_LIMIT + 3):
        settings.add_recent(f"/docs/{i}.pdf")
    settings.add_recent("/docs/5.pdf")
    recent = settings.recent_files
    assert recent[0] == "/docs/5.pdf"
    assert len(recent) == RECENT_LIMIT and len(set(recent)) == RECENT_LIMIT
    settings.remove_recent("/docs/5.pdf")
    assert "/docs/5.pdf" not in settings.recent_files
