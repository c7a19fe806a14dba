"""Every prompt PaperLens sends, in one place, versioned.

Tasks are registered by kind: a new page task (locate boxes, summarise...) is one module that calls `register_task`
with its prompt, and every engine runs it through `build_prompt` unchanged:

    register_task(TaskSpec("summary", uses_image=True, build=lambda task: PromptParts(PAGE_PREFIX, "...")))
    engine.run(Task("summary"), page.image)

Bump PROMPT_VERSION whenever a prompt's wording changes: cached results are keyed by it, so a new wording re-runs
pages instead of serving answers to the old question.

MiniCPM-V 4.6 uses ChatML. The instruct model expects thinking switched off, which its template does by writing an
empty think block after the assistant header.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

PROMPT_VERSION = 1

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_OFF = "<think>\n\n</think>\n\n"
# Every task about a page starts the same way, so the state after the image serves parsing and every question alike.
PAGE_PREFIX = f"{IM_START}user\n"

PARSE_INSTRUCTION = (
    "Convert this document page to Markdown. Transcribe all text in natural reading order. "
    "Keep headings (#), lists, bold and italic. Write tables as Markdown tables, or as HTML tables when cells span "
    "rows or columns. Write formulas as LaTeX ($...$ inline, $$...$$ for display). "
    "Output only the Markdown, with no commentary."
)

ASK_PAGE_HINT = "Answer about the document page in the image, concisely."

# Asked after an answer about a page, in the same chat: the page's kept state is restored, so only this text is read.
LOCATE_QUESTION = (
    "Where on the page did that answer come from? Give the bounding box of each part of the page you used, "
    "as <ref>its text</ref><box>x1 y1 x2 y2</box> in 0-1000 page coordinates, and nothing else."
)
LOCATE_MAX_TOKENS = 96  # a few boxes: each is about 20 tokens with its label

ASK_DOCUMENT_SYSTEM = (
    "Answer the question using only the document text below, which is split into pages marked [Page N]. "
    "Name the pages you used, like (page 2). If the text does not contain the answer, say so."
)


class TaskKind(str, Enum):
    """The built-in tasks. A `str` enum, so `Task("parse").kind == TaskKind.PARSE` and cache keys stay text."""

    PARSE = "parse"  # the page image to Markdown
    ASK = "ask"  # a question about the page image
    ASK_DOCUMENT = "ask_document"  # a question about the document's text (no image)
    LOCATE = "locate"  # after a page answer: the boxes of the page regions it came from


@dataclass(frozen=True)
class Task:
    """What to do: a registered task kind plus its inputs. The engines run any registered kind."""

    kind: str
    question: str = ""
    history: tuple[tuple[str, str], ...] = ()  # earlier (question, answer) pairs of the same chat
    context: str = ""  # for ask_document: the document's text with [Page N] markers
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        # keep the kind plain text: it goes into cache keys and f-strings, where an enum would print its name
        object.__setattr__(self, "kind", getattr(self.kind, "value", self.kind))

    @property
    def spec(self) -> TaskSpec:
        try:
            return _TASKS[self.kind]
        except KeyError:
            raise ValueError(f"Unknown task kind: {self.kind!r}") from None

    @property
    def uses_image(self) -> bool:
        return self.spec.uses_image

    @property
    def cache_name(self) -> str:
        """The task's part of a result's cache key."""
        return f"{self.kind}-v{self.spec.version}"


@dataclass(frozen=True)
class PromptParts:
    """A prompt split around the image: `before` + image + `after`. Without an image, `before` + `after`.

    The split is what lets a follow-up question reuse the page: everything up to the end of the image is the same
    for every question about that page, so its encoded state can be kept and restored.
    """

    before: str
    after: str
    image: bool = field(default=True)


@dataclass(frozen=True)
class TaskSpec:
    """A kind of task: its prompt, whether it looks at the page image, and its prompt version (for cache keys)."""

    kind: str
    build: Callable[[Task], PromptParts]
    uses_image: bool = True
    version: int = PROMPT_VERSION


_TASKS: dict[str, TaskSpec] = {}


def register_task(spec: TaskSpec) -> None:
    _TASKS[getattr(spec.kind, "value", spec.kind)] = spec


def unregister_task(kind: str) -> None:
    _TASKS.pop(kind, None)


def build_prompt(task: Task) -> PromptParts:
    return task.spec.build(task)


def parse_task(max_tokens: int | None = None) -> Task:
    return Task(TaskKind.PARSE, max_tokens=max_tokens)


def ask_task(question: str, history: tuple[tuple[str, str], ...] = (), max_tokens: int | None = None) -> Task:
    return Task(TaskKind.ASK, question=question.strip(), history=tuple(history), max_tokens=max_tokens)


def ask_document_task(question: str, context: str, history: tuple[tuple[str, str], ...] = ()) -> Task:
    return Task(TaskKind.ASK_DOCUMENT, question=question.strip(), history=tuple(history), context=context)


def locate_task(
    question: str, answer: str, history: tuple[tuple[str, str], ...] = (), max_tokens: int = LOCATE_MAX_TOKENS
) -> Task:
    """Where did `answer` (to `question`, after `history`) come from on the page: a follow-up on the same page image,
    so an engine that keeps page states reads only the chat's text, never the image again."""
    return Task(
        TaskKind.LOCATE,
        question=LOCATE_QUESTION,
        history=(*tuple(history), (question.strip(), answer)),
        max_tokens=max_tokens,
    )


def _assistant_turn(answer: str | None = None) -> str:
    head = f"{IM_START}assistant\n{THINK_OFF}"
    return head if answer is None else f"{head}{answer}{IM_END}\n"


def _system(text: str) -> str:
    return f"{IM_START}system\n{text}{IM_END}\n"


def _parse_prompt(task: Task) -> PromptParts:
    return PromptParts(before=PAGE_PREFIX, after=f"\n{PARSE_INSTRUCTION}{IM_END}\n{_assistant_turn()}")


def _ask_prompt(task: Task) -> PromptParts:
    if not task.question:
        raise ValueError("The question is empty.")
    turns = ""
    first = True
    for q, a in (*task.history, (task.question, None)):
        prefix = f"\n{ASK_PAGE_HINT}\n" if first else f"{IM_START}user\n"
        turns += f"{prefix}{q}{IM_END}\n{_assistant_turn(a)}"
        first = False
    return PromptParts(before=PAGE_PREFIX, after=turns)


def _ask_document_prompt(task: Task) -> PromptParts:
    if not task.question:
        raise ValueError("The question is empty.")
    text = _system(f"{ASK_DOCUMENT_SYSTEM}\n\n{task.context}")
    for q, a in task.history:
        text += f"{IM_START}user\n{q}{IM_END}\n{_assistant_turn(a)}"
    text += f"{IM_START}user\n{task.question}{IM_END}\n{_assistant_turn()}"
    return PromptParts(before=text, after="", image=False)


register_task(TaskSpec(TaskKind.PARSE, _parse_prompt))
register_task(TaskSpec(TaskKind.ASK, _ask_prompt))
register_task(TaskSpec(TaskKind.LOCATE, _ask_prompt))  # the same chat as ASK, one more turn
register_task(TaskSpec(TaskKind.ASK_DOCUMENT, _ask_document_prompt, uses_image=False))
