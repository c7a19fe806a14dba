"""Which files of a dropped folder are opened: only the kinds PaperLens reads (PDFs and images)."""

from __future__ import annotations

from paperlens.core.session import expand_paths, is_supported


def test_a_folder_offers_only_pdfs_and_images(tmp_path):
    for name in ("a.pdf", "b.epub", "c.xps", "d.cbz", "e.png", "f.txt"):
        (tmp_path / name).write_bytes(b"x")
    groups = expand_paths([tmp_path])
    assert [[p.name for p in g] for g in groups] == [["a.pdf"], ["e.png"]]
    assert not any(is_supported(tmp_path / n) for n in ("b.epub", "c.xps", "d.cbz"))
