"""DocumentSession.use_original: undoing the flattening of a photo page drops what was read from the flattened image."""

from __future__ import annotations

import pytest
from PIL import Image

from paperlens.core.errors import DocumentError
from paperlens.core.runs import PageResult
from paperlens.core.session import open_session
from tests.unit.scenes import make_pdf, page_image, photo


def test_use_original_replaces_the_page_and_drops_its_result(tmp_path):
    frame, _ = photo(page=page_image(kind="table", seed=3), bg="wood", tilt_x=-12, tilt_y=14, roll=8, seed=3)
    path = tmp_path / "photo.png"
    Image.fromarray(frame[:, :, ::-1]).save(path)
    s = open_session([path])
    assert s.cached_page(1) is None  # not rendered yet, and peeking does not render
    flat = s.page(1)
    assert flat.flattened is not None and s.cached_page(1) is flat
    s.results[1] = PageResult(1, "read from the flattened page")
    s.edited.add(1)
    s.thumbnails[1] = object()

    dropped = s.use_original(1)

    assert dropped is not None and dropped.markdown == "read from the flattened page"
    page = s.page(1)
    assert page.flattened is None and page.image.size == flat.flattened.original_size
    assert page.number == 1 and s.cached_page(1) is page
    assert 1 not in s.results and 1 not in s.edited and 1 not in s.thumbnails
    assert s.unparsed() == [1]
    s.close()


def test_a_pdf_page_has_no_original_to_go_back_to(tmp_path):
    s = open_session([make_pdf(tmp_path / "one.pdf", ["Only page"])])
    assert s.original_page(1) is None
    with pytest.raises(DocumentError, match="no original"):
        s.use_original(1)
    s.close()
