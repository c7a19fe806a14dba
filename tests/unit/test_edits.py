"""Hand edits of a page's text: kept in the library apart from the model's text, served instead of it in every mode,
marked in exports, revertible, and never discarded by a re-run."""

from __future__ import annotations

import json

from PIL import Image

from paperlens.core.library import Library
from paperlens.core.page import Page
from paperlens.core.pipeline import PageSource, parse_pages
from paperlens.core.results.export import render, to_json
from paperlens.core.runs import Finish
from tests.engines import TruthEngine

MODEL_TEXT = "# Invoice 42\n\nTotal 10.00"
EDITED = "# Invoice 42\n\nTotal 12.00"


def _page() -> Page:
    return Page(image=Image.new("RGB", (64, 64), "white"), source="scan.png")


def _parse(library: Library, mode: str = "4x", use_cache: bool = True):
    engine = TruthEngine(lambda key: MODEL_TEXT, mode=mode)
    result = parse_pages(
        [PageSource(1, _page())], 1, engine, library=library, use_cache=use_cache, source_name="s"
    )
    return result, engine


def test_an_edit_survives_closing_and_reopening_the_library(tmp_path):
    path = tmp_path / "lib.sqlite3"
    with Library(path) as lib:
        first, _ = _parse(lib)
        lib.put_edit(_page().image_hash, "parse", EDITED)
    # WHEN the library is opened again (a restart, or after a crash: every put commits at once)
    with Library(path) as lib:
        again, _ = _parse(lib)
        edits = lib.page_edits("s", "parse")
    assert first.pages[0].markdown == MODEL_TEXT and not first.pages[0].edited
    assert again.pages[0].markdown == EDITED and again.pages[0].edited
    assert edits[1].text == EDITED


def test_the_edit_is_served_in_another_mode_without_running_the_model(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        _parse(lib, "4x")
        lib.put_edit(_page().image_hash, "parse", EDITED)
        result, engine = _parse(lib, "16x")
    assert result.pages[0].markdown == EDITED and not engine.loaded  # nothing was run


def test_a_rerun_keeps_the_edit_and_stores_the_new_model_text_beside_it(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        _parse(lib)
        lib.put_edit(_page().image_hash, "parse", EDITED)
        rerun, engine = _parse(lib, use_cache=False)
        assert engine.loaded and rerun.pages[0].markdown == EDITED
        # reverting shows the model's text again
        assert lib.revert_edit(_page().image_hash, "parse")
        back, _ = _parse(lib)
    assert back.pages[0].markdown == MODEL_TEXT and not back.pages[0].edited


def test_exports_mark_edited_pages_and_drop_the_models_stop_warning(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        result, _ = _parse(lib)
        result.pages[0].finish = Finish.REPETITION
        lib.put_edit(_page().image_hash, "parse", EDITED)
        edited, _ = _parse(lib)
    md = render(edited, "md")
    assert "(edited by hand)" in md and "stopped early" not in md and "12.00" in md
    assert "stopped early" in render(result, "md")  # the model's own cut page still says so
    data = json.loads(to_json(edited))
    assert data["pages"][0]["edited"] is True
    assert "edited by hand" in render(edited, "txt") and "edited by hand" in render(edited, "html")
