"""Shared fixtures: the tiny synthetic twin (built once per test session) and a clean user environment."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Tests never read or write the real user's model folder, library or settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("PAPERLENS_MODEL_DIR", raising=False)
    monkeypatch.delenv("PAPERLENS_FAKE_AVAILABLE_MB", raising=False)


@pytest.fixture(scope="session")
def tiny_twin(tmp_path_factory):
    """The tiny twin's files (real architecture, random weights, a few MB), built once for the whole session."""
    from paperlens.dev.synth import cached_twin

    return cached_twin("tiny", tmp_path_factory.mktemp("twin-cache"))


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_twin, tmp_path_factory) -> Path:
    """A model folder holding just the twin's text model and 16x projector, shared by the session."""
    folder = tmp_path_factory.mktemp("models")
    for f in (tiny_twin.text, tiny_twin.projector):
        shutil.copy2(f, folder / f.name)
    return folder


@pytest.fixture
def fresh_model_dir(tiny_twin, tmp_path) -> Path:
    """A model folder of the test's own, for tests that damage or add files."""
    folder = tmp_path / "models"
    folder.mkdir()
    for f in (tiny_twin.text, tiny_twin.projector):
        shutil.copy2(f, folder / f.name)
    return folder


def a4_page(text: str = "Invoice 2026-11 Total 42.00", size=(1240, 1754)):
    """A white A4 page at 150 dpi with a few lines of text: what a rendered PDF page looks like to the engine."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=24)  # about 11 pt at 150 dpi
    for i, line in enumerate([text, "Item  Qty  Price", "Paper  2  10.00", "Ink  1  22.00"]):
        draw.text((120, 150 + 60 * i), line, fill="black", font=font)
    return img
