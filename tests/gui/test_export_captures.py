"""A searchable PDF of pages that are not one PDF file: captures, a folder of images (the pages the model read)."""

from __future__ import annotations

import pymupdf

from tests.gui.helpers import page_image, wait_idle, write_png


def _export_pdf(window, qtbot, out):
    window.export_to(window.current.to_document_result(), "pdf", out)
    qtbot.waitUntil(out.exists, timeout=20_000)
    return pymupdf.open(str(out))


def test_captured_pages_export_as_a_searchable_pdf(qtbot, window, tmp_path):
    window.add_captured_pages([page_image(), page_image()], new_document=True)
    window.parse_all_pages()
    wait_idle(qtbot, window)
    with _export_pdf(window, qtbot, tmp_path / "captures.pdf") as pdf:
        assert pdf.page_count == 2
        assert all("Quarterly report" in page.get_text() for page in pdf)  # the model's text, searchable
    assert not window.notice.isVisible() or "failed" not in window.notice.text


def test_a_folder_of_images_exports_its_pages(qtbot, window, tmp_path):
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(3):
        write_png(folder / f"p{i}.png")
    window.open_paths([folder])
    window.parse_all_pages()
    wait_idle(qtbot, window)
    with _export_pdf(window, qtbot, tmp_path / "scans.pdf") as pdf:
        assert pdf.page_count == 3
        assert all("Quarterly report" in page.get_text() for page in pdf)


def test_a_pdf_keeps_its_own_pages_and_an_image_file_gives_the_page_the_model_read(window, tmp_path):
    from tests.gui.helpers import write_pdf

    pdf = window.open_paths([write_pdf(tmp_path / "doc.pdf")])[0]
    assert pdf.to_document_result().page_images is None  # the export copies the PDF's pages, vector and all
    png = window.open_paths([write_png(tmp_path / "scan.png")])[0]
    images = png.to_document_result().page_images
    assert images is not None and list(images) == []  # nothing parsed yet: nothing to draw
