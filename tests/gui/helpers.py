"""Small helpers shared by the GUI tests: page images and real files for the window to open."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw


def page_image(label: str = "Page", size=(620, 877)) -> Image.Image:
    """A small white page with a line of text (a stand-in for a rendered PDF page)."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    draw.text((40, 40), label, fill="black")
    draw.rectangle((40, 100, size[0] - 40, 300), outline="black")
    return img


def wait_idle(qtbot, window, timeout: int = 10_000) -> None:
    """Until the model thread has no job running or queued."""
    qtbot.waitUntil(lambda: not window.host.busy, timeout=timeout)


def write_png(path: Path, label: str = "Scan") -> Path:
    page_image(label).save(path)
    return path


def write_pdf(path: Path, pages: int = 2, *, password: str | None = None) -> Path:
    """A small real PDF with a text layer on every page (pymupdf writes it)."""
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=420, height=595)  # A5 in points: renders small and fast
        page.insert_text((50, 72), f"Report page {i + 1}", fontsize=18)
        page.insert_text((50, 110), f"Total for page {i + 1}: {100 * (i + 1)} EUR", fontsize=11)
    kwargs = {}
    if password:
        kwargs = dict(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner")
    doc.save(str(path), **kwargs)
    doc.close()
    return path
