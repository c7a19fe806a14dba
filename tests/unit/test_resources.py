"""The desktop files validate with the Debian tools, the icons exist in every size, the sample document opens."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from paperlens.resources import ICON_SVG, SAMPLE_PDF

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "resources" / "linux"
DESKTOP = LINUX / "app.paperlens.PaperLens.desktop"
METAINFO = LINUX / "app.paperlens.PaperLens.metainfo.xml"


def test_desktop_entry_validates():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (apt install desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower()


def test_metainfo_validates():
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (apt install appstream)")
    result = subprocess.run([tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_desktop_entry_opens_what_paperlens_opens():
    from paperlens.core.session import DOCUMENT_SUFFIXES, IMAGE_SUFFIXES

    entry = DESKTOP.read_text()
    assert "Exec=paperlens %F" in entry
    assert "Categories=Office;Scanning;OCR;" in entry
    mime = next(line for line in entry.splitlines() if line.startswith("MimeType="))
    for must in ("application/pdf", "image/png", "image/jpeg", "image/tiff", "image/webp"):
        assert must in mime
    assert {".pdf", ".png", ".jpg", ".tiff", ".webp"} <= DOCUMENT_SUFFIXES | IMAGE_SUFFIXES


def test_icons_in_every_size():
    from PIL import Image

    assert ICON_SVG.is_file()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        png = ROOT / f"resources/icons/hicolor/{size}x{size}/apps/app.paperlens.PaperLens.png"
        assert Image.open(png).size == (size, size)
    assert (ROOT / "resources/icons/paperlens.ico").stat().st_size > 0
    assert (ROOT / "resources/icons/paperlens.icns").stat().st_size > 0


def test_sample_document_has_a_heading_text_and_a_table():
    from paperlens.core.documents import open_document

    assert SAMPLE_PDF.stat().st_size < 200_000
    document = open_document(SAMPLE_PDF)
    assert document.page_count == 1
    text = document.page(0).text
    assert "Quarterly supplies report" in text and "Toner cartridge" in text
