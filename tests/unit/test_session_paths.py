"""Which files of a dropped folder are opened: only the kinds PaperLens reads (PDFs and images)."""

from __future__ import annotations

from paperlens.core.session import expand_paths, is_supported


def test_a_folder_offers_only_pdfs_and_images(tmp_path):
    for name in ("a.pdf", "b.epub", "c.xps", "d.cbz", "e.png", "f.txt"):
        (tmp_path / name).write_bytes(b"x")
    groups = expand_paths([tmp_path])
    assert [[p.name for p in g] for g in groups] == [["a.pdf"], ["e.png"]]
    assert not any(is_supported(tmp_path / n) for n in ("b.epub", "c.xps", "d.cbz"))


def test_a_link_that_leads_nowhere_is_said_to_be_one(tmp_path):
    import pytest

    from paperlens.core.errors import DocumentError
    from paperlens.core.session import open_session

    loop_a, loop_b, dangling = tmp_path / "a.pdf", tmp_path / "b.pdf", tmp_path / "gone.pdf"
    loop_a.symlink_to(loop_b)
    loop_b.symlink_to(loop_a)
    dangling.symlink_to(tmp_path / "nothing.pdf")
    for link in (loop_a, dangling):
        with pytest.raises(DocumentError, match="is a link that leads to no file"):
            open_session([link])
    with pytest.raises(DocumentError, match="does not exist"):
        open_session([tmp_path / "never.pdf"])
