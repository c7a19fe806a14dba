"""The open documents and the model jobs submitted for them, and what the library remembers of reopened documents.

Why apart from the window: this is the bookkeeping between `ModelHost`'s signals (job ids, page numbers) and the
sessions they change. The controller changes sessions only; the window asks it what changed and repaints the views.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from paperlens.core.errors import PaperLensError
from paperlens.core.library import ResultKey
from paperlens.core.options import IMAGE_MODES, Mode
from paperlens.core.prompts import TaskKind, parse_task
from paperlens.core.results.boxes import boxes_from_json
from paperlens.core.runs import Finish, PageResult, RunStats
from paperlens.core.session import ChatScope, ChatTurn, DocumentSession
from paperlens.gui.jobs import JobRunner
from paperlens.gui.settings import Settings
from paperlens.gui.worker import AskRequest, JobKind, JobOutcome, LocateRequest, ModelHost, ParseRequest

log = logging.getLogger(__name__)


@dataclass
class JobRecord:
    """What the window remembers of a job it submitted: pages to parse, or one chat turn to answer."""

    kind: JobKind
    doc_id: str
    turn: ChatTurn | None = None
    pages: tuple[int, ...] = ()


def result_info(result: PageResult | None, edited: bool) -> str:
    """The line above the Markdown: how the page's text came to be."""
    if result is None:
        return ""
    if result.error:
        return f"Failed: {result.error}"
    bits = []
    if edited:
        bits.append("edited by hand")
    if result.cached:
        bits.append(f"from the cache ({result.stats.mode})" if result.stats.mode else "from the cache")
    elif result.stats.generated_tokens:
        s = result.stats
        bits.append(f"{s.generated_tokens} tokens in {s.wall_s:.1f} s")
        if s.image_tokens:
            bits.append(f"{s.image_tokens} image tokens ({s.mode})")
    if result.finish.note and not edited:  # after a hand edit the model's stop no longer describes the text
        bits.append(result.finish.note)
    return " · ".join(bits)


def parse_summary(outcome: JobOutcome) -> str:
    """The status bar's sentence when a parse job ends."""
    if outcome.error:
        return f"Stopped: {outcome.error}"
    result = outcome.result
    pages = result.pages if result is not None else []
    ran = sum(1 for p in pages if p.ok and not p.cached and p.finish != Finish.CANCELLED)
    cached = sum(1 for p in pages if p.cached)
    failed = sum(1 for p in pages if not p.ok)
    bits = []
    if ran:
        bits.append(f"parsed {ran} page{'s' if ran != 1 else ''} in {outcome.elapsed_s:.1f} s")
    if cached:
        bits.append(f"{cached} from the cache")
    if failed:
        bits.append(f"{failed} failed")
    if outcome.cancelled:  # say "kept" only when a page shows stopped text: the pane must agree
        if any(p.finish == Finish.CANCELLED and p.markdown for p in pages):
            bits.append("stopped; the text so far is kept")
        else:
            bits.append("stopped" if bits else "stopped before any text was written")
    text = "; ".join(bits) or "nothing to do"
    return text[0].upper() + text[1:] + "."


def restore_summary(s: DocumentSession, pages: int, questions: int, mode: str) -> str:
    """The status bar's sentence when a reopened document's earlier results are shown."""
    other = [
        r.stats.mode
        for r in s.results.values()
        if r.cached and r.stats.mode and r.stats.mode != mode and mode != Mode.AUTO.value
    ]
    text = f"{s.title}: {pages} page(s) parsed earlier"
    if other:
        text += f", {len(other)} in {'/'.join(sorted(set(other)))} (Parse Page Again reads a page in {mode})"
    return text + (f", {questions} earlier question(s)" if questions else "")


class Documents(QObject):
    """Sessions by id, jobs by id, and the library lookups. Emits `restored(session, pages, questions)`."""

    restored = Signal(object, int, int)

    def __init__(
        self, host: ModelHost, jobs: JobRunner, settings: Settings, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.jobs = jobs
        self.settings = settings
        self.sessions: dict[str, DocumentSession] = {}
        self._jobs: dict[int, JobRecord] = {}
        self.follow_job = 0  # the batch whose pages the window follows (0: none)
        self.library: Any = None
        self.models: Any = None  # ModelSet from the last look at the model folder: it keys the cached results
        self._restore_waiting: list[str] = []
        self._unsaved: dict[tuple[str, int], str] = {}  # edits made before the library was ready
        self._hashes: dict[tuple[str, int], str] = {}  # (document, page) -> page image hash

    # sessions
    def get(self, doc_id: str) -> DocumentSession | None:
        return self.sessions.get(doc_id)

    def add(self, session: DocumentSession) -> None:
        self.sessions[session.id] = session
        if session.path:
            self._restore_waiting.append(session.id)
            self.restore_pending()

    def remove(self, doc_id: str) -> DocumentSession | None:
        """Forget a document, stop its jobs and close its files."""
        session = self.sessions.pop(doc_id, None)
        self.host.cancel_document(doc_id)
        self._hashes = {k: v for k, v in self._hashes.items() if k[0] != doc_id}
        if session is not None:
            session.close()
        return session

    def close_all(self) -> None:
        for s in list(self.sessions.values()):
            s.close()

    # submitting
    def page_queued(self, s: DocumentSession, n: int) -> bool:
        return any(j.kind is JobKind.PARSE and j.doc_id == s.id and n in j.pages for j in self._jobs.values())

    def submit_parse(self, s: DocumentSession, pages: list[int], *, use_cache: bool = True) -> int:
        req = ParseRequest(
            doc_id=s.id, pages=pages, load_page=s.page, source_name=s.path or "", use_cache=use_cache
        )
        job = self.host.submit(req)
        if job:
            self._jobs[job] = JobRecord(JobKind.PARSE, s.id, pages=tuple(pages))
        return job

    def submit_ask(self, s: DocumentSession, question: str, scope: ChatScope) -> int:
        self.host.cancel_kind(JobKind.LOCATE)  # a new question does not wait for the last answer's boxes
        n = s.current_page
        page_no = n if scope is ChatScope.PAGE else None
        history = s.history(scope, n)
        turn = ChatTurn(question=question, scope=scope, page_no=page_no)
        s.chat(scope, n).append(turn)
        req = AskRequest(
            doc_id=s.id,
            question=question,
            scope=scope.value,
            page_no=page_no,
            load_page=s.page,
            document_texts=s.document_texts,
            history=history,
            source_name=s.path or "",
        )
        job = self.host.submit(req)
        self._jobs[job] = JobRecord(JobKind.ASK, s.id, turn=turn)
        return job

    def submit_locate(
        self, s: DocumentSession, turn: ChatTurn, history: tuple[tuple[str, str], ...] = ()
    ) -> int:
        """Ask where on the page a finished page answer came from (its boxes land in `turn.boxes`)."""
        if turn.page_no is None or turn.scope is not ChatScope.PAGE:
            return 0
        req = LocateRequest(
            doc_id=s.id,
            question=turn.question,
            answer=turn.answer,
            page_no=turn.page_no,
            load_page=s.page,
            history=history,
            qa_id=turn.qa_id,
            source_name=s.path or "",
        )
        job = self.host.submit(req)
        if job:
            self._jobs[job] = JobRecord(JobKind.LOCATE, s.id, turn=turn)
        return job

    def locating(self, turn: ChatTurn) -> bool:
        """Whether the boxes question of `turn` is queued or running."""
        return any(j.kind is JobKind.LOCATE and j.turn is turn for j in self._jobs.values())

    # hand edits: each goes to the library the moment the pane reports it, so closing never has to ask
    def save_edit(self, s: DocumentSession, n: int, text: str) -> str | None:
        """Keep the user's text of page `n` in the library (committed when this returns); the reason if it failed.

        Before the library is ready the edit waits in memory and is saved when it comes (`set_library`).
        """
        lib = self.library
        if lib is None:
            self._unsaved[(s.id, n)] = text
            return None
        try:
            image_hash = self._page_hash(s, n)
            if s.path:  # so that reopening finds the edit without rendering the page
                if lib.document(s.path) is None:
                    lib.add_document(s.path, s.page_count, title=s.title)
                lib.set_page_hashes(s.path, {n: image_hash})
            lib.put_edit(image_hash, TaskKind.PARSE.value, text, base=self._base_key(s, n, image_hash))
        except PaperLensError as exc:
            log.warning("edit of page %d not saved: %s", n, exc)
            return f"Your edit of page {n} could not be saved: {exc}"
        self._unsaved.pop((s.id, n), None)
        return None

    def revert_edit(self, s: DocumentSession, n: int) -> str | None:
        """Forget the user's text of page `n` (the model's shows again); the reason if the library refused."""
        if self.library is not None:
            try:
                self.library.revert_edit(self._page_hash(s, n), TaskKind.PARSE.value)
            except PaperLensError as exc:
                return f"Page {n} could not be reverted: {exc}"
        self._unsaved.pop((s.id, n), None)
        s.revert_markdown(n)
        return None

    def _page_hash(self, s: DocumentSession, n: int) -> str:
        key = (s.id, n)
        if key not in self._hashes:  # the page on screen: rendered already, in the session's small cache
            self._hashes[key] = s.display_page(n).image_hash
        return self._hashes[key]

    def _base_key(self, s: DocumentSession, n: int, image_hash: str) -> ResultKey | None:
        """Which model result the edit was made on, when known."""
        model = s.model_results.get(n)
        mode = model.stats.mode if model is not None else ""
        if not mode or self.models is None:
            return None
        return ResultKey(image_hash, self.models.identity(mode), mode, parse_task().cache_name)

    # what the model thread reports
    def _lookup(self, job_id: int) -> tuple[JobRecord | None, DocumentSession | None]:
        job = self._jobs.get(job_id)
        return job, (self.sessions.get(job.doc_id) if job else None)

    def page_started(self, job_id: int, page: int) -> DocumentSession | None:
        _job, s = self._lookup(job_id)
        if s is not None:
            s.streaming[page] = ""
        return s

    def add_text(self, job_id: int, page: int, text: str) -> tuple[JobRecord | None, DocumentSession | None]:
        job, s = self._lookup(job_id)
        if s is None or job is None:
            return None, None
        if job.kind is JobKind.PARSE:
            s.streaming[page] = s.streaming.get(page, "") + text
        elif job.turn is not None:
            job.turn.answer += text
        return job, s

    def page_done(self, job_id: int, result: PageResult) -> DocumentSession | None:
        _job, s = self._lookup(job_id)
        if s is None:
            return None
        s.streaming.pop(result.page, None)
        # stopped before its first word: the page stays as it was ("not parsed yet" or its earlier text)
        if not (result.finish == Finish.CANCELLED and not result.markdown):
            s.model_result(result.page, result)
        return s

    def job_finished(self, outcome: JobOutcome) -> tuple[JobRecord | None, DocumentSession | None, list[int]]:
        """Forget the job; returns it, its session and the pages it left half-streamed (now cleared)."""
        job = self._jobs.pop(outcome.job_id, None)
        if self.follow_job == outcome.job_id:
            self.follow_job = 0
        s = self.sessions.get(outcome.doc_id)
        cleared: list[int] = []
        if job is None:
            return None, s, cleared
        if job.kind is JobKind.PARSE:
            if s is not None:
                for n in job.pages:
                    if n in s.streaming:  # cancelled before the page reported back
                        s.streaming.pop(n, None)
                        cleared.append(n)
        elif job.kind is JobKind.LOCATE and job.turn is not None:
            located = outcome.result
            job.turn.boxes = list(located.boxes) if located is not None and not outcome.cancelled else []
            job.turn.located = located is not None and not outcome.cancelled and not outcome.error
        elif job.turn is not None:
            turn = job.turn
            result = outcome.result
            if outcome.error:
                turn.error = outcome.error
                turn.finish = Finish.STOP
            elif result is not None:
                turn.answer = result.text or turn.answer
                turn.finish = result.finish
                turn.stats = result.stats
            else:
                turn.finish = Finish.CANCELLED
            if outcome.cancelled and turn.finish != Finish.CANCELLED and not outcome.error:
                turn.finish = Finish.CANCELLED
            turn.pages_used = list(outcome.pages_used)
            turn.pages_with_text = outcome.pages_with_text
            turn.qa_id = outcome.qa_id
            if s is not None and not s.closed and self._wants_boxes(turn, outcome):
                history = getattr(outcome.request, "history", ())
                self.submit_locate(s, turn, tuple(history))
        return job, s, cleared

    def _wants_boxes(self, turn: ChatTurn, outcome: JobOutcome) -> bool:
        return (
            self.settings.shows_sources
            and turn.scope is ChatScope.PAGE
            and not outcome.cancelled
            and not outcome.error
            and turn.finish is not None
            and turn.finish.complete
            and turn.finish != Finish.REPETITION
            and bool(turn.answer.strip())
        )

    # results kept from earlier sessions
    def set_library(self, library: Any) -> None:
        self.library = library
        for (doc_id, n), text in list(self._unsaved.items()):
            s = self.sessions.get(doc_id)
            if s is not None and not s.closed:
                self.save_edit(s, n, text)
        self.restore_pending()

    def set_models(self, models: Any) -> None:
        self.models = models
        self.restore_pending()

    def restore_pending(self) -> None:
        """Show what the library remembers of reopened documents (parsed pages, questions) without running anything.

        Waits until both the library and the model folder's identity are known: results are keyed by the model.
        """
        if self.library is None or self.models is None or not getattr(self.models, "complete", False):
            return
        waiting, self._restore_waiting = self._restore_waiting, []
        for doc_id in waiting:
            s = self.sessions.get(doc_id)
            if s is not None:
                self._restore(s)

    def _restore(self, s: DocumentSession) -> None:
        lib, models, mode = self.library, self.models, self.settings.mode
        path, count, title = s.path, s.page_count, s.title
        task = parse_task().cache_name
        # the same model files in every mode: their identities share the text model's part
        prefix = os.path.commonprefix([models.identity(m) for m in IMAGE_MODES])

        def work():
            lib.add_document(path, count, title=title)
            results = lib.page_results_any_mode(
                path, task, model_prefix=prefix, prefer=(models.identity(mode), mode), include_partial=True
            )
            return results, lib.page_edits(path, TaskKind.PARSE.value), lib.qa_history(path)

        def done(value) -> None:
            results, edits, history = value
            if s.closed:
                return
            for n in sorted(set(results) | set(edits)):
                if not 1 <= n <= s.page_count or n in s.results or n in s.streaming:
                    continue
                stored = results.get(n)
                if stored is not None:
                    run = stored.result
                    stats = replace(run.stats, mode=run.stats.mode or stored.mode)
                    s.model_result(n, PageResult(n, run.text, run.finish, stats, cached=True))
                if n in edits:  # the user's text over the model's, which Revert shows again
                    if n in s.results:
                        s.model_results[n] = s.results[n]
                    s.results[n] = PageResult(n, edits[n].text, edited=True)
                    s.edited.add(n)
            pages = len(set(results) | set(edits))
            for rec in history:
                scope = ChatScope.DOCUMENT if rec.page is None else ChatScope.PAGE
                chat = s.chat(scope, rec.page)
                if any(t.question == rec.question and t.answer == rec.answer for t in chat):
                    continue
                boxes = boxes_from_json(rec.boxes)
                chat.append(
                    ChatTurn(
                        rec.question,
                        scope,
                        rec.page,
                        rec.answer,
                        list(rec.pages_used),
                        Finish.STOP,
                        stats=RunStats.from_dict(rec.stats or {}),
                        boxes=boxes,
                        located=True if boxes else None,
                        qa_id=rec.id,
                    )
                )
            if pages or history:
                self.restored.emit(s, pages, len(history))

        self.jobs.submit(work, done, lambda msg: log.info("library lookup failed: %s", msg))
