"""Whole-document questions over any length: the relevant pages are found and fit the context in counted tokens."""

from __future__ import annotations

import pytest

from paperlens.core.pipeline import ask_document
from paperlens.core.retrieval import rank_pages, select_context
from tests.engines import TruthEngine

ANSWER_PAGE = 217
FILLER = (
    "Section {n} reviews the quarterly figures for the regional offices. Travel costs, office rent and the "
    "number of staff are listed with their changes against the previous year. Nothing unusual was found in "
    "the audit of page {n}, and the committee approved the accounts without further remarks. "
)


def long_document(pages: int = 300) -> list[tuple[int, str]]:
    doc = [(n, FILLER.format(n=n) * 3) for n in range(1, pages + 1)]
    if pages < ANSWER_PAGE:
        return doc
    doc[ANSWER_PAGE - 1] = (
        ANSWER_PAGE,
        doc[ANSWER_PAGE - 1][1] + "The warranty claim number for the broken press is ZX-4471-Q.",
    )
    return doc


def test_a_300_page_document_is_answered_from_the_page_that_holds_the_answer():
    # GIVEN 300 pages (~45k tokens) and an 8k context
    engine = TruthEngine(lambda key: "", n_ctx=8192)  # answers with the context it was given
    engine.load()
    # WHEN a whole-document question is asked
    answer = ask_document(engine, long_document(), "What is the warranty claim number?")
    # THEN the answer page is in the prompt, the prompt fits, and the answer says it may be incomplete
    assert ANSWER_PAGE in answer.pages_used and "ZX-4471-Q" in answer.result.text
    assert engine.count_tokens(answer.result.text) <= 8192 - 1024
    assert answer.incomplete and answer.pages_with_text == 300 and len(answer.pages_used) < 300
    assert answer.pages_used == sorted(answer.pages_used)


def test_a_short_document_goes_in_whole_and_is_not_called_incomplete():
    engine = TruthEngine(lambda key: "")
    engine.load()
    answer = ask_document(engine, long_document(5) + [(6, "")], "What is the number?")
    assert answer.pages_used == [1, 2, 3, 4, 5] and not answer.incomplete


def test_ranking_puts_matching_pages_first_and_keeps_every_page():
    pages = [(1, "apples and pears"), (2, "the invoice total is 42"), (3, "nothing here")]
    order = rank_pages(pages, "What is the invoice total?")
    assert order[0] == 2 and sorted(order) == [1, 2, 3]
    assert rank_pages(pages, "?!") == [1, 2, 3]  # no words: page order
    assert rank_pages(pages, 'say "AND" OR NOT *') == [1, 2, 3]  # FTS5 syntax in a question is only words


def test_one_page_longer_than_the_budget_is_cut_and_said_to_be():
    ctx = select_context([(1, "word " * 5000)], "word", lambda t: len(t) // 4, 500)
    assert ctx.pages_used == [1] and ctx.incomplete and len(ctx.text) < 5000 * 5


@pytest.mark.integration
def test_the_real_tokenizer_keeps_a_long_document_inside_the_context(tiny_model_dir):
    from paperlens.core.engine import EngineConfig, LlamaEngine
    from paperlens.core.models import scan_model_dir

    config = EngineConfig(mode="16x", device="cpu", n_ctx=4096, max_tokens=4, suppress_eos=True)
    with LlamaEngine(scan_model_dir(tiny_model_dir), config) as engine:
        answer = ask_document(engine, long_document(), "What is the warranty claim number?")
    assert ANSWER_PAGE in answer.pages_used and answer.result.finish.complete and answer.incomplete
