"""The density measure behind auto mode, and how the pipeline uses it: 16x for sparse pages, 4x for dense ones, results
stored under the mode each page was read in and served in either mode."""

from __future__ import annotations

import threading

import pytest

from paperlens.core.density import DENSE_CHARACTERS, choose_mode, measure
from paperlens.core.engine import EngineInfo, VisionEngine
from paperlens.core.library import Library
from paperlens.core.page import Page
from paperlens.core.pipeline import PageSource, parse_pages, result_key, stored_page_results
from paperlens.core.prompts import parse_task
from paperlens.core.runs import RunResult, RunStats
from tests import density_pages as pages


@pytest.mark.parametrize("name", sorted(pages.SPARSE))
def test_a_sparse_page_is_read_in_16x(name):
    d = measure(pages.SPARSE[name]())
    assert not d.dense and d.mode == "16x", d.describe()


@pytest.mark.parametrize("name", sorted(pages.DENSE))
def test_a_dense_page_is_read_in_4x(name):
    d = measure(pages.DENSE[name]())
    assert d.dense and d.mode == "4x", d.describe()


def test_the_measure_counts_about_the_characters_of_a_text_page():
    d = measure(pages.dense_text_page())
    # ~48 lines of ~90 characters at 10.5 pt: the estimate is of that order, and the page is far over the threshold
    assert 2500 < d.characters < 6000 and 40 <= d.lines <= 60
    assert d.characters > 3 * DENSE_CHARACTERS


def test_smaller_print_counts_more_and_a_longer_letter_turns_dense():
    assert (
        measure(pages.dense_text_page(points=8)).characters
        > measure(pages.dense_text_page(points=12)).characters
    )
    assert choose_mode(pages.letter_page(body_lines=6)) == "16x"
    assert choose_mode(pages.letter_page(body_lines=30)) == "4x"  # a full letter: biased towards 4x


def test_the_measure_is_deterministic_and_does_not_depend_on_the_page_resolution():
    img = pages.dense_text_page(seed=3)
    assert measure(img).characters == measure(img.copy()).characters
    small = img.resize((img.width * 2 // 3, img.height * 2 // 3))  # the same page at 100 dpi
    assert small.size[1] < 1200
    assert measure(small).mode == "4x"
    assert choose_mode(pages.title_page().resize((2480, 3508))) == "16x"  # at 300 dpi


def test_a_text_layer_can_only_make_a_page_dense():
    words = "invoice total amount " * 60  # 1,080 non-space characters
    assert measure(pages.title_page(), text_layer=words).mode == "4x"
    assert measure(pages.dense_text_page(), text_layer="Title").mode == "4x"
    assert measure(pages.title_page(), text_layer="A Title").mode == "16x"
    assert measure(pages.title_page(), text_layer=words).to_dict()["layer_characters"] == 1080


def test_a_photo_of_a_scene_has_almost_no_text_lines():
    d = measure(pages.photo_page())
    assert d.characters < DENSE_CHARACTERS / 10 and d.cover < 0.01


class AutoEngine(VisionEngine):
    """Reads a page in whichever image mode it is asked for, as an auto-mode llama.cpp engine does; records it."""

    def __init__(self, modes=("4x", "16x")) -> None:
        self._modes = tuple(modes)
        self.info = EngineInfo()
        self.asked: list[str | None] = []
        self._loaded = False

    loaded = property(lambda self: self._loaded)
    mode = property(lambda self: "auto" if len(self._modes) > 1 else self._modes[0])
    modes = property(lambda self: self._modes)
    identity = property(lambda self: "fake")
    context_tokens = property(lambda self: 4096)

    def identity_for(self, mode: str) -> str:
        return f"fake-{mode}"

    def load(self) -> None:
        self._loaded = True

    def close(self) -> None:
        self._loaded = False

    def run(self, task, image=None, *, on_chunk=None, cancel=None, max_tokens=None, page_key=None, mode=None):
        self.asked.append(mode)
        used = mode or self._modes[0]
        return RunResult(
            f"read in {used}", stats=RunStats(mode=used, image_tokens=600 if used == "16x" else 2400)
        )


class FixedEngine(AutoEngine):
    """An engine fixed to one mode whose `run` does not even take `mode` (as engines written before auto mode)."""

    def run(self, task, image=None, *, on_chunk=None, cancel=None, max_tokens=None, page_key=None):
        return super().run(task, image, page_key=page_key)


def _sources(*images):
    return [PageSource(n, Page(img, number=n)) for n, img in enumerate(images, 1)]


def test_auto_mode_reads_each_page_in_its_mode_and_stores_it_under_that_mode(tmp_path):
    library = Library(tmp_path / "lib.sqlite")
    engine = AutoEngine()
    srcs = _sources(pages.letter_page(), pages.dense_text_page(), pages.photo_page(), pages.table_page())
    doc = parse_pages(srcs, len(srcs), engine, library=library, source_name="doc.pdf")
    assert [p.stats.mode for p in doc.pages] == ["16x", "4x", "16x", "4x"]
    assert engine.asked == ["16x", "4x", "16x", "4x"]
    task = parse_task()
    for src, want in zip(srcs, ("16x", "4x", "16x", "4x"), strict=True):
        key = result_key(src.page, engine, task, want)
        assert key.model_id == f"fake-{want}" and library.get(key).text == f"read in {want}"
    library.add_document("doc.pdf", len(srcs))
    assert set(stored_page_results(library, "doc.pdf", engine, task)) == {1, 2, 3, 4}

    # reopened in 4x: the dense pages come from the cache, the sparse ones are read (in 4x)
    fixed4 = FixedEngine(modes=("4x",))
    again = parse_pages(_sources(*(s.page.image for s in srcs)), 4, fixed4, library=library)
    assert [p.cached for p in again.pages] == [False, True, False, True]
    assert [p.stats.mode for p in again.pages] == ["4x"] * 4


def test_auto_mode_serves_a_cached_result_of_either_mode(tmp_path):
    library = Library(tmp_path / "lib.sqlite")
    letter, dense = pages.letter_page(), pages.dense_text_page()
    # both pages were read earlier in 4x (a fixed 4x engine, the default)
    parse_pages(_sources(letter, dense), 2, FixedEngine(modes=("4x",)), library=library)
    engine = AutoEngine()
    doc = parse_pages(_sources(letter, dense), 2, engine, library=library)
    assert [p.cached for p in doc.pages] == [True, True] and engine.asked == []
    assert [p.stats.mode for p in doc.pages] == ["4x", "4x"]  # the mode that made each result is said


def test_an_engine_fixed_to_one_mode_is_not_given_a_mode():
    engine = FixedEngine(modes=("16x",))
    doc = parse_pages(_sources(pages.dense_text_page()), 1, engine, cancel=threading.Event())
    assert doc.pages[0].ok and doc.pages[0].stats.mode == "16x"
