"""Thumbnails of a long document stay within a bound: the ones in view are drawn and kept, the ones scrolled away
let go and drawn again when they come back (all of a 10,000-page document would take about 1 GB)."""

from __future__ import annotations

import pytest

from paperlens.gui import page_cache

BOUND = 40


def _make_pdf(path, pages: int):
    import pymupdf

    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=60, height=80)  # tiny pages: thumbnails render fast
        page.insert_text((8, 20), str(i + 1), fontsize=10)
    doc.save(str(path))
    doc.close()
    return path


@pytest.fixture
def long_document(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setattr(page_cache, "THUMBNAIL_CACHE", BOUND)
    (session,) = window.open_paths([_make_pdf(tmp_path / "long.pdf", 600)])
    assert session.page_count == 600
    return session


def _drawn(thumbs) -> set[int]:
    """Pages whose item shows a thumbnail (not the grey placeholder)."""
    blank = thumbs._placeholder.cacheKey()
    return {n for n in range(1, thumbs.count() + 1) if thumbs.item(n - 1).icon().cacheKey() != blank}


def _in_view_drawn(window, s) -> bool:
    first, last = window.view.thumbs.visible_pages()
    wanted = set(range(first, last + 1))
    return first > 0 and wanted <= set(s.thumbnails) and wanted <= _drawn(window.view.thumbs)


def test_scrolling_through_a_long_document_keeps_thumbnails_within_the_bound(qtbot, window, long_document):
    s, thumbs = long_document, window.view.thumbs
    # GIVEN the document open: the pages in view get their thumbnails
    qtbot.waitUntil(lambda: _in_view_drawn(window, s), timeout=20_000)
    # WHEN the list is scrolled through to the end, a screenful at a time
    bar = thumbs.verticalScrollBar()
    while bar.value() < bar.maximum():
        bar.setValue(min(bar.maximum(), bar.value() + bar.pageStep()))
        # THEN each screenful is drawn, and no more than the bound is ever kept
        qtbot.waitUntil(lambda: _in_view_drawn(window, s), timeout=20_000)
        assert len(s.thumbnails) <= BOUND and window.cache.thumbnail_count() <= BOUND
        assert len(_drawn(thumbs)) <= BOUND
    first, last = thumbs.visible_pages()
    assert last == 600
    # AND the first pages, long let go, are drawn again when scrolled back to
    assert 1 not in s.thumbnails
    bar.setValue(0)
    qtbot.waitUntil(lambda: _in_view_drawn(window, s), timeout=20_000)
    assert 1 in s.thumbnails and len(s.thumbnails) <= BOUND


def test_closing_a_document_frees_its_place_in_the_bound(qtbot, window, long_document):
    qtbot.waitUntil(lambda: _in_view_drawn(window, long_document), timeout=20_000)
    assert window.cache.thumbnail_count() > 0
    window.doc_tabs.tabCloseRequested.emit(0)  # the tab's close button
    assert window.doc_tabs.count() == 0
    assert window.cache.thumbnail_count() == 0
