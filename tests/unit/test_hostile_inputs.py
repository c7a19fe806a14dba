"""Files made to hurt: a PostScript file dressed as a photo, PDFs with absurd pages, images that cost gigabytes to
decode, and folders with more photos than open files. Each is refused with a sentence, or opened within bounds.

Nothing here allocates more than a few megabytes: sizes are asserted on what would be allocated, never by trying.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import EpsImagePlugin, Image

from paperlens.core import images
from paperlens.core.documents import open_document, sniff_kind
from paperlens.core.errors import DocumentError
from paperlens.core.session import IMAGE_SUFFIXES


# -- 1. only the image formats PaperLens advertises -------------------------------------------------------------------
@pytest.fixture
def no_subprocess(monkeypatch):
    """Fail the test if anything starts a program (Ghostscript, for one), and pretend Ghostscript is installed."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args[0] if args else kwargs}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    # the decoding runs here, where Popen is watched (the renderer child is itself a program PaperLens starts)
    monkeypatch.setenv("PAPERLENS_IN_PROCESS", "1")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", "gs")
    monkeypatch.setattr(EpsImagePlugin, "gs_windows_binary", "gs")


def _eps(path: Path) -> Path:
    Image.new("RGB", (40, 30), "white").save(path, format="EPS")  # Pillow writes EPS without Ghostscript
    assert path.read_bytes().startswith(b"%!PS")
    return path


@pytest.mark.parametrize("name", ["scan.jpg", "scan.eps", "scan.png"])
def test_a_postscript_file_is_refused_and_ghostscript_never_runs(tmp_path, no_subprocess, name):
    # GIVEN an EPS file, even one named like a photo
    path = _eps(tmp_path / name)
    # WHEN it is opened (as the window and the CLI do) or decoded directly
    # THEN it is refused with a sentence, and no program is started
    for attempt in (lambda: open_document(path), lambda: images.load_image(path), lambda: sniff_kind(path)):
        with pytest.raises(DocumentError) as err:
            attempt()
        assert str(err.value).startswith(f"{name} is a PostScript (EPS) file, which PaperLens does not open")


def test_decoding_is_limited_to_the_advertised_formats(tmp_path, no_subprocess):
    # The formats PaperLens opens are exactly those its file dialog and folder scan offer (session.IMAGE_SUFFIXES).
    ext = Image.registered_extensions()
    assert {ext[s] for s in IMAGE_SUFFIXES} <= set(images.IMAGE_FORMATS)
    assert "EPS" not in images.IMAGE_FORMATS and "PDF" not in images.IMAGE_FORMATS
    # An image of another format Pillow reads (here: a Windows icon) is not decoded either.
    ico = tmp_path / "page.png"
    Image.new("RGB", (32, 32), "white").save(ico, format="ICO")
    with pytest.raises(DocumentError, match="is not a PDF or an image PaperLens can read"):
        open_document(ico)


# -- 3. images: memory counted in bytes, every frame checked before it is decoded ------------------------------------
def test_each_frame_of_a_tiff_is_checked_before_it_is_decoded(tmp_path, monkeypatch):
    # GIVEN a TIFF whose first page is small and whose second is over the limit (lowered here to stay small)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 1_000_000)
    path = tmp_path / "fax.tif"
    small, big = Image.new("L", (500, 500), 255), Image.new("L", (2000, 2000), 255)
    small.paste(0, (50, 50, 450, 100))
    small.save(path, save_all=True, append_images=[big], compression="tiff_deflate")
    # WHEN both pages are rendered (in this process: the limit is lowered here, not in the renderer child)
    with open_document(path, flatten=False, isolated=False) as doc:
        results = dict(doc.pages())
    # THEN the first comes through and the second is refused, with a sentence, before its pixels are decoded
    assert results[0].image.size == (500, 500)
    assert str(results[1]) == (
        "Page 2 of fax.tif is 2000x2000 pixels (4 megapixels), more than the 1 megapixels PaperLens opens. "
        "Scale it down first."
    )


def test_the_image_limit_is_a_memory_budget(tmp_path, monkeypatch):
    budget = images.MAX_DECODE_BYTES
    # GIVEN a budget that an RGB image of this size fits and an RGBA one (laid on white: more copies) does not
    monkeypatch.setattr(images, "MAX_DECODE_BYTES", 25_000_000)
    Image.new("RGB", (1500, 1500), "white").save(tmp_path / "rgb.png")
    Image.new("RGBA", (1500, 1500), (0, 0, 0, 0)).save(tmp_path / "rgba.png")
    # WHEN both are opened
    assert images.load_image(tmp_path / "rgb.png").size == (1500, 1500)
    with pytest.raises(DocumentError) as err:
        open_document(tmp_path / "rgba.png", isolated=False)  # the budget is lowered in this process only
    # THEN the RGBA one is refused with what it would cost
    assert str(err.value) == (
        "rgba.png is 1500x1500 pixels in RGBA mode, which would take 0.0 GB of memory to decode, more than the "
        "0.0 GB PaperLens allows itself. Scale it down or save it as 8-bit RGB first."
    )
    # and at the real budget a 150 MP RGB, RGBA or 16-bit scan fits (their copies are few), grey with alpha not
    for mode in ("RGB", "RGBA", "I;16", "CMYK", "L"):
        assert images.decode_bytes(mode, (10000, 15000)) <= budget
    assert images.decode_bytes("LA", (10000, 15000)) > budget


def test_sixteen_bit_grey_is_scaled_without_big_temporaries():
    # GIVEN a 4 MP 16-bit scan (mid-grey)
    import tracemalloc

    import numpy as np

    im = Image.fromarray(np.full((2000, 2000), 32768, np.uint16))
    # WHEN it is made RGB
    tracemalloc.start()
    try:
        rgb = images.image_to_rgb(im)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # THEN it is mid-grey, and the work took less than 8 bytes a pixel (float64 copies of the whole took 17)
    assert 120 <= rgb.getpixel((5, 5))[0] <= 135
    assert peak < 8 * 2000 * 2000


# -- 8. images are opened when rendered, not held open -------------------------------------------------------------
def _open_fds(pid: int | str = "self") -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc")
def test_a_folder_of_60_photos_holds_no_open_files(tmp_path):
    from paperlens.core.isolation import renderer
    from paperlens.core.session import expand_paths, open_session

    # GIVEN a folder of 60 page photos, and the renderer child (where the files are opened) running
    for i in range(60):
        Image.new("RGB", (40, 50), (250, 250, 250)).save(tmp_path / f"p{i:02}.jpg")
    (group,) = expand_paths([tmp_path])
    child = renderer().request(None, "debug", "pid", 0, what="the renderer")
    # WHEN it is opened as one document
    before = _open_fds(), _open_fds(child)
    session = open_session(group)
    try:
        # THEN no file stays open, here or in the renderer, before or after a page is rendered
        assert session.page_count == 60
        assert _open_fds() <= before[0] and _open_fds(child) <= before[1]
        session.display_page(30)
        assert _open_fds() <= before[0] and _open_fds(child) <= before[1]
        assert renderer().pid == child
    finally:
        session.close()


# -- 3. PDFs: the render budget holds for any page size ------------------------------------------------------------
def _pdf_with_page(path: Path, width: float, height: float) -> Path:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 100), "Quarterly figures", fontsize=14)
    page.set_mediabox(pymupdf.Rect(0, 0, width, height))  # a tiny file can claim any page size
    doc.save(path)
    doc.close()
    return path


def test_a_huge_pdf_page_renders_within_the_pixel_budget(tmp_path, monkeypatch):
    from paperlens.core import documents

    # GIVEN a budget of 100,000 pixels (lowered so nothing big is allocated) and a 10,000 pt square page
    monkeypatch.setattr(documents, "MAX_RENDER_PIXELS", 100_000)
    path = _pdf_with_page(tmp_path / "poster.pdf", 10_000, 10_000)
    # WHEN it is rendered (in this process: the budget is lowered here, not in the renderer child)
    with open_document(path, isolated=False) as doc:
        page = doc.page(0)
    # THEN the picture keeps to the budget (a DPI floor of 10 used to give 1389 x 1389 = 1.9 MP)
    w, h = page.image.size
    assert w * h <= 100_000 and w > 250


@pytest.mark.parametrize("size", [(200_000, 200_000), (10_000_000, 10_000_000), (20_000, 100)])
def test_an_absurd_pdf_page_is_refused_with_a_sentence(tmp_path, size):
    # GIVEN a PDF of a few hundred bytes whose page claims to be kilometres wide
    path = _pdf_with_page(tmp_path / "bomb.pdf", *size)
    assert path.stat().st_size < 5000
    # WHEN its page is rendered
    with open_document(path) as doc:
        (index, result), *_ = doc.pages()
    # THEN it is refused, with a sentence, without rendering anything
    assert isinstance(result, DocumentError)
    assert str(result).startswith("Page 1 of bomb.pdf is ") and "cannot be rendered" in str(result)
