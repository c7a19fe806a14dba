"""The hostile-input corpus (tests/hostile_corpus.py) opened as the window opens files (`open_session`), as the
CLI does (`open_document`, in the renderer child) and in this process: each file gives pages or one plain sentence
naming it, within the pixel budget, in bounded time, and nothing in a file is run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paperlens.core.documents import MAX_RENDER_PIXELS, open_document
from paperlens.core.errors import PaperLensError
from paperlens.core.images import MAX_IMAGE_PIXELS
from paperlens.core.session import open_session
from tests.hostile_corpus import (
    EITHER,
    LAUNCH_MARKER,
    OK,
    PAGE_ERROR,
    REFUSED,
    build_corpus,
    corpus_supported,
    wait_or_unblock,
)

pytestmark = pytest.mark.skipif(not corpus_supported(), reason="FIFOs, symlinks and byte names of POSIX")

NAMES = [
    "giant-mediabox.pdf",
    "ten-million-pt.pdf",
    "negative-box.pdf",
    "empty-box.pdf",
    "rotate-45.pdf",
    "deep-nesting.pdf",
    "javascript-launch.pdf",
    "many-pages.pdf",
    "no-pages.pdf",
    "truncated.pdf",
    "postscript.pdf",
    "text.pdf",
    "scan.jpg",
    "bomb.png",
    "bomb.tif",
    "frames-bomb.tif",
    "truncated.jpg",
    "truncated.png",
    *(f"zero-bytes{s}" for s in (".pdf", ".png", ".jpg", ".tif", ".webp", ".gif", ".bmp")),
    os.fsdecode(b"caf\xe9-latin1-name.png"),
    "svg.png",
    "html.png",
    "cmyk.jpg",
    "sixteen-bit.png",
    "palette-transparent.png",
    "fifo-page.png",
    "zero-device.png",
    "loop.pdf",
    "folder.pdf",
    "up",
]
MAX_PIXELS = max(MAX_RENDER_PIXELS, MAX_IMAGE_PIXELS)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    cases = {c.path.name: c for c in build_corpus(folder)}
    assert sorted(cases) == sorted(NAMES)  # the list above names every file the corpus makes
    return cases


def _sample(count: int) -> list[int]:
    """Page numbers (1-based) to render: all of a short document, the first, middle and last of a long one."""
    return list(range(1, count + 1)) if count <= 5 else sorted({1, count // 2, count})


def _check_sentence(exc: BaseException, name: str) -> None:
    assert isinstance(exc, PaperLensError), f"{name}: {type(exc).__name__}: {exc}"
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text and text.endswith("."), text
    assert name in text or Path(name).stem in text, f"the sentence does not name {name}: {text}"


def _open_and_render(opener, path: Path, count_of, page_of) -> tuple[str, list]:
    """Opens `path` and renders a sample of its pages: ("refused", exc) or ("opened", [Page or exception])."""

    def work():
        try:
            doc = opener(path)
        except Exception as exc:  # noqa: BLE001 - judged by the caller
            return ("refused", exc)
        try:
            results = []
            for number in _sample(count_of(doc)):
                try:
                    results.append(page_of(doc, number))
                except Exception as exc:  # noqa: BLE001
                    results.append(exc)
            return ("opened", results)
        finally:
            doc.close()

    fifo = path if path.is_fifo() else None
    state, value = wait_or_unblock(work, fifo, timeout=60)
    assert state != "hung", f"opening {path.name} did not finish in 60 s"
    assert state == "done", value
    return value


OPENERS = {
    # the window: a session, pages numbered from 1
    "session": (lambda p: open_session([p]), lambda d: d.page_count, lambda d, n: d.page(n)),
    # the CLI and the batch: one document, pages numbered from 0
    "document": (lambda p: open_document(p), lambda d: d.page_count, lambda d, n: d.page(n - 1)),
    # the same in PaperLens's own process (PAPERLENS_IN_PROCESS=1, and what the renderer child runs)
    "in-process": (
        lambda p: open_document(p, isolated=False),
        lambda d: d.page_count,
        lambda d, n: d.page(n - 1),
    ),
}


@pytest.mark.parametrize("how", sorted(OPENERS))
@pytest.mark.parametrize("name", NAMES)
def test_each_hostile_file_gives_pages_or_one_sentence(corpus, name, how, monkeypatch):
    case = corpus[name]
    monkeypatch.chdir(case.path.parent)  # a Launch action, if anything ran it, would write its marker here
    outcome, value = _open_and_render(*((OPENERS[how][0], case.path) + OPENERS[how][1:]))
    if outcome == "refused":
        assert case.expect in (REFUSED, EITHER), f"{name} ({case.why}) was refused: {value}"
        _check_sentence(value, case.path.name)
        return
    assert case.expect != REFUSED, f"{name} ({case.why}) was opened"
    pages = [r for r in value if not isinstance(r, BaseException)]
    errors = [r for r in value if isinstance(r, BaseException)]
    for exc in errors:
        _check_sentence(exc, case.path.name)
    for page in pages:
        w, h = page.image.size
        assert 0 < w * h <= MAX_PIXELS
    if case.expect == OK:
        assert not errors, f"{name} ({case.why}): {errors}"
    elif case.expect == PAGE_ERROR:
        assert errors, f"{name} ({case.why}) gave no page error"
    assert not (case.path.parent / LAUNCH_MARKER).exists()
