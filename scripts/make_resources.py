"""Regenerate the icon files and the sample document from their masters.

    python scripts/make_resources.py

The icon master is `app/paperlens/resources/paperlens.svg` (package data: the window's icon at run time). From it this
writes the PNG sizes desktops use into `resources/icons/hicolor/NxN/apps/`, a Windows `.ico` and a macOS `.icns`
(Qt's SVG renderer draws, Pillow packs). It also writes the sample document a first-time user opens from the start
screen, `app/paperlens/resources/sample.pdf`, with pymupdf. The outputs are committed, so a build needs none of this;
run it again after changing the SVG or the sample's text.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_RESOURCES = ROOT / "app" / "paperlens" / "resources"
SVG = PACKAGE_RESOURCES / "paperlens.svg"
ICONS = ROOT / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render_png(size: int) -> bytes:
    """The SVG drawn at size x size by Qt's SVG renderer, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def make_icons() -> None:
    from PIL import Image

    pngs: dict[int, bytes] = {}
    for size in PNG_SIZES:
        pngs[size] = render_png(size)
        out = ICONS / "hicolor" / f"{size}x{size}" / "apps" / "app.paperlens.PaperLens.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pngs[size])
    scalable = ICONS / "hicolor" / "scalable" / "apps" / "app.paperlens.PaperLens.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(SVG.read_bytes())
    big = Image.open(io.BytesIO(pngs[256])).convert("RGBA")
    # Pillow's ICO writer resizes from the largest image; give it each size drawn by the renderer instead.
    frames = [Image.open(io.BytesIO(pngs[s])).convert("RGBA") for s in ICO_SIZES]
    big.save(ICONS / "paperlens.ico", format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=frames)
    Image.open(io.BytesIO(pngs[512])).convert("RGBA").save(ICONS / "paperlens.icns", format="ICNS")


def make_sample() -> None:
    """A one-page report: a heading, two paragraphs and a ruled table, all real text (so it has a text layer)."""
    import pymupdf

    html = """
    <h1 style="font-family: sans-serif;">Quarterly supplies report</h1>
    <p style="font-family: serif; font-size: 11pt;">This is the PaperLens sample document. Press
    <b>Parse Page</b> to turn it into Markdown, open the <b>Tables</b> tab to get the table below as a
    spreadsheet, or ask a question such as <i>Which item cost the most?</i></p>
    <p style="font-family: serif; font-size: 11pt;">Office supplies were ordered from two suppliers in the
    first quarter. Paper and toner make up most of the spending; prices include tax.</p>
    """
    rows = [
        ("Item", "Supplier", "Quantity", "Unit price", "Total"),
        ("A4 paper (box)", "Northwind", "12", "24.50", "294.00"),
        ("Toner cartridge", "Contoso", "3", "89.90", "269.70"),
        ("Ring binders", "Northwind", "40", "2.15", "86.00"),
        ("Sticky notes", "Contoso", "25", "1.80", "45.00"),
        ("Total", "", "", "", "694.70"),
    ]
    widths = (140, 100, 70, 80, 80)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)  # A4 in points
    page.insert_htmlbox(pymupdf.Rect(60, 60, 535, 300), html)
    x0, y0, row_h = 60.0, 250.0, 24.0
    for r, row in enumerate(rows):
        y = y0 + r * row_h
        if r == 0:
            page.draw_rect(
                pymupdf.Rect(x0, y, x0 + sum(widths), y + row_h), color=None, fill=(0.88, 0.91, 0.95)
            )
        x = x0
        for c, (cell, w) in enumerate(zip(row, widths, strict=True)):
            bold = r == 0 or r == len(rows) - 1
            font = "hebo" if bold else "helv"
            right = c >= 2  # numbers align right
            tw = pymupdf.get_text_length(cell, fontname=font, fontsize=10)
            tx = x + w - 8 - tw if right else x + 8
            page.insert_text((tx, y + 16), cell, fontname=font, fontsize=10)
            x += w
    # the rules: every row and column, as a scanned form or a printed report has them
    right_edge = x0 + sum(widths)
    for r in range(len(rows) + 1):
        page.draw_line((x0, y0 + r * row_h), (right_edge, y0 + r * row_h), width=0.8)
    x = x0
    for w in (0, *widths):
        x += w
        page.draw_line((x, y0), (x, y0 + len(rows) * row_h), width=0.8)
    page.insert_htmlbox(
        pymupdf.Rect(60, y0 + len(rows) * row_h + 18, 535, 782),
        '<p style="font-family: serif; font-size: 11pt;">Next order: end of April. Questions to the office '
        "manager.</p>",
    )
    doc.subset_fonts()
    doc.set_metadata(
        {"title": "PaperLens sample", "author": "PaperLens", "creator": "scripts/make_resources.py"}
    )
    doc.save(PACKAGE_RESOURCES / "sample.pdf", garbage=4, deflate=True, no_new_id=True)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    make_icons()
    make_sample()
    print(f"wrote {ICONS.relative_to(ROOT)}/ and {(PACKAGE_RESOURCES / 'sample.pdf').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
