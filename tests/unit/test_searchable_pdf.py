"""The searchable PDF: the page as it was, the model's words invisible over the right lines."""

from __future__ import annotations

import random
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from paperlens.core.results import export
from paperlens.core.results.textlines import Box, align_lines, find_lines, text_lines
from paperlens.core.runs import DocumentResult, PageResult

WORDS = [
    "invoice",
    "ledger",
    "quarterly",
    "revenue",
    "margin",
    "supplier",
    "account",
    "balance",
    "payment",
    "freight",
    "customs",
    "shipment",
    "order",
    "delivery",
    "warehouse",
    "inventory",
    "audit",
    "budget",
    "forecast",
    "region",
    "northern",
    "southern",
    "contract",
    "renewal",
    "clause",
]


def true_page(seed: int = 1, n: int = 28) -> tuple[bytes, list[tuple[str, pymupdf.Rect]]]:
    """A one-page A4 PDF with `n` known lines of varied length at known places (its own text layer)."""
    rng = random.Random(seed)
    pdf = pymupdf.open()
    page = pdf.new_page(width=595, height=842)
    lines = []
    y = 80.0
    for i in range(n):
        size = 18 if i == 0 else 11
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2 if i == 0 else 3, 9)))
        x = 72 + (rng.random() * 30 if i % 5 == 3 else 0)
        page.insert_text((x, y), text, fontsize=size, fontname="helv")
        width = pymupdf.get_text_length(text, "helv", size)
        lines.append((text, pymupdf.Rect(x, y - size * 0.8, x + width, y + size * 0.2)))
        y += size * 1.6 + (10 if i % 7 == 6 else 0)  # paragraphs
    return pdf.tobytes(), lines


def rasterise(pdf_bytes: bytes, dpi: int = 150) -> bytes:
    """The same pages as pictures only: no text layer left, like a scan."""
    src = pymupdf.open(stream=pdf_bytes)
    out = pymupdf.open()
    for pg in src:
        pix = pg.get_pixmap(dpi=dpi)
        new = out.new_page(width=pg.rect.width, height=pg.rect.height)
        new.insert_image(new.rect, pixmap=pix)
    return out.tobytes()


def hit_rate(page: pymupdf.Page, lines: list[tuple[str, pymupdf.Rect]], tol: float = 6.0) -> float:
    """The share of true lines whose words `search_for` finds within `tol` points of where the line is."""
    good = 0
    for text, rect in lines:
        words = text.split()
        probe = " ".join(words[:3])  # a phrase from the line: found wherever the line lies
        hits = page.search_for(probe)
        if any(
            abs(h.y0 - rect.y0) < tol and abs(h.y1 - rect.y1) < tol and abs(h.x0 - rect.x0) < tol
            for h in hits
        ):
            good += 1
    return good / len(lines)


@pytest.fixture
def scanned(tmp_path) -> tuple[Path, list[tuple[str, pymupdf.Rect]]]:
    vector, lines = true_page()
    path = tmp_path / "scan.pdf"
    path.write_bytes(rasterise(vector))
    assert not pymupdf.open(path)[0].get_text().strip()  # GIVEN a page with no text layer
    return path, lines


def one_page_doc(path: Path, markdown: str) -> DocumentResult:
    return DocumentResult(source=str(path), pages=[PageResult(1, markdown)], title="Scan")


@pytest.mark.parametrize("joined", [False, True], ids=["line-per-line", "paragraphs-as-one-line"])
def test_search_finds_each_line_where_it_is(scanned, tmp_path, joined) -> None:
    path, lines = scanned
    # GIVEN the model's text: the true lines (or, as models often write, each paragraph on one line)
    texts = [t for t, _ in lines]
    if joined:
        paras = ["# " + texts[0]] + [" ".join(texts[i : i + 7]) for i in range(1, len(texts), 7)]
        markdown = "\n\n".join(paras)
    else:
        markdown = "# " + texts[0] + "\n\n" + "\n".join(texts[1:])
    # WHEN exported as a searchable PDF
    (out,) = export.export(one_page_doc(path, markdown), "pdf", tmp_path / "out.pdf")
    page = pymupdf.open(out)[0]
    # THEN search finds at least 95 % of the lines within a few points of their true place
    rate = hit_rate(page, lines)
    print(f"line hit rate ({'joined' if joined else 'lines'}): {rate:.1%}")
    assert rate >= 0.95
    # and the text in the PDF is the model's text, in reading order
    assert page.get_text().split() == " ".join(text_lines(markdown)).split()
    # and the picture is still there, untouched
    assert len(page.get_images()) == 1


def test_a_page_with_a_real_text_layer_is_left_alone(tmp_path) -> None:
    vector, lines = true_page(seed=2)
    path = tmp_path / "vector.pdf"
    path.write_bytes(vector)
    before = pymupdf.open(path)[0].get_text()
    (out,) = export.export(one_page_doc(path, "\n".join(t for t, _ in lines)), "pdf", tmp_path / "out.pdf")
    page = pymupdf.open(out)[0]
    assert page.get_text() == before  # same text, no second layer
    assert not page.get_images()  # still vector: nothing rendered


def test_an_image_becomes_a_page_at_its_true_size(tmp_path) -> None:
    vector, lines = true_page(seed=3, n=12)
    pix = pymupdf.open(stream=vector)[0].get_pixmap(dpi=100)
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    path = tmp_path / "scan.png"
    image.save(path, dpi=(100, 100))
    markdown = "\n".join(t for t, _ in lines)
    (out,) = export.export(one_page_doc(path, markdown), "pdf", tmp_path / "out.pdf")
    page = pymupdf.open(out)[0]
    assert page.rect.width == pytest.approx(595, abs=1) and page.rect.height == pytest.approx(842, abs=1)
    assert hit_rate(page, lines) >= 0.95
    # a camera capture (no file, no DPI) comes from page_images, its long side the length of A4's
    capture = DocumentResult("Camera capture", [PageResult(1, markdown)], page_images={1: image})
    (out2,) = export.export(capture, "pdf", tmp_path / "cap.pdf")
    page2 = pymupdf.open(out2)[0]
    assert page2.rect.height == pytest.approx(842, abs=1)
    assert page2.get_text().split() == markdown.split()


def test_failed_and_skipped_pages_keep_their_page_without_text(scanned, tmp_path) -> None:
    path, lines = scanned
    doc = DocumentResult(str(path), [PageResult(1, error="The page could not be read.")])
    (out,) = export.export(doc, "pdf", tmp_path / "out.pdf")
    page = pymupdf.open(out)[0]
    assert not page.get_text().strip() and len(page.get_images()) == 1


def test_no_pages_to_draw_is_an_error(tmp_path) -> None:
    from paperlens.core.errors import ExportError

    with pytest.raises(ExportError):
        export.export(DocumentResult("gone.pdf", [PageResult(1, "text")]), "pdf", tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_tables_rows_are_lines_and_markup_is_gone() -> None:
    md = "# Title\n\n**Bold** and *it*.\n\n| A | B |\n|---|---|\n| 1 | 2 |\n\n- item one\n- item two\n"
    assert text_lines(md) == ["Title", "Bold and it.", "A B", "1 2", "- item one", "- item two"]


def test_alignment_wraps_a_long_line_and_falls_back_to_spreading() -> None:
    boxes = [Box(0, 0, 300, 10), Box(0, 20, 300, 30), Box(0, 40, 120, 50), Box(0, 60, 100, 70)]
    # one long line over three found lines, then a short one
    long = " ".join(["word"] * 30)
    placed = align_lines([long, "end of it now"], boxes)
    assert [b.y0 for _, b in placed] == [0, 20, 40, 60]
    assert " ".join(t for t, _ in placed[:3]) == long
    # nothing found: spread evenly over the area
    spread = align_lines(["a", "b"], [], Box(0, 0, 100, 100))
    assert [b.y0 for _, b in spread] == [0, 50]


def test_find_lines_on_a_blank_page_finds_nothing() -> None:
    assert find_lines(Image.new("RGB", (400, 600), "white")) == []


def test_a_rotated_page_gets_its_text_over_the_lines_as_shown(tmp_path) -> None:
    # GIVEN a scanned page stored sideways and shown turned (/Rotate)
    vector, lines = true_page(seed=4, n=10)
    pix = pymupdf.open(stream=vector)[0].get_pixmap(dpi=150)
    pdf = pymupdf.open()
    pg = pdf.new_page(width=842, height=595)
    pg.insert_image(pg.rect, pixmap=pix, rotate=90)
    pg.set_rotation(270)
    path = tmp_path / "rotated.pdf"
    pdf.save(path)
    shown = pymupdf.open(path)[0].get_pixmap(dpi=72)
    found = find_lines(Image.frombytes("RGB", (shown.width, shown.height), shown.samples))
    assert len(found) == len(lines)
    # WHEN exported
    (out,) = export.export(one_page_doc(path, "\n".join(t for t, _ in lines)), "pdf", tmp_path / "out.pdf")
    page = pymupdf.open(out)[0]
    # THEN each line's words are found over the line as the page shows it
    for (text, _), box in zip(lines, found, strict=True):
        hits = [h * page.rotation_matrix for h in page.search_for(" ".join(text.split()[:3]))]
        assert any(abs(h.y0 - box.y0) < 4 and abs(h.x0 - box.x0) < 4 for h in hits), text


def test_a_page_that_can_no_longer_be_drawn_costs_that_page_not_the_export(tmp_path) -> None:
    from collections.abc import Mapping

    from paperlens.core.errors import DocumentError

    class Pages(Mapping):  # a window session's pages, rendered when the export asks: page 2's file is gone
        def __getitem__(self, number):
            if number == 2:
                raise DocumentError("scan2.png does not exist (it may have been moved or deleted).")
            return Image.new("RGB", (600, 800), "white")

        def __contains__(self, number):
            return number in (1, 2)

        def __iter__(self):
            return iter((1, 2))

        def __len__(self):
            return 2

    doc = DocumentResult(
        "Captures", [PageResult(1, "First page"), PageResult(2, "Second page")], page_images=Pages()
    )
    (out,) = export.export(doc, "pdf", tmp_path / "out.pdf")
    pdf = pymupdf.open(out)
    assert pdf.page_count == 1 and "First page" in pdf[0].get_text()
