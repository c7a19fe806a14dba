"""The text model's tokenizer: a small byte-level BPE vocabulary with every special token, and the chat template."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# llama.cpp token types (llama.h: enum llama_token_type)
_TOKEN_NORMAL = 1
_TOKEN_CONTROL = 3
_TOKEN_USER_DEFINED = 4

#: Special tokens, in vocabulary order, with their llama.cpp token type.
#: - ChatML turn markers; ``<|im_end|>`` is eos (end of turn), ``<|endoftext|>`` bos/padding as in Qwen files.
#: - ``<think>``/``</think>``: reasoning markers of the Qwen3.5 family; user-defined like in Qwen's files, so they
#:   stay visible in detokenized output and the app can find and strip them.
#: - ``<image>``, ``</image>``, ``<slice>``, ``</slice>``: looked up by name in tools/mtmd/mtmd.cpp (projector
#:   minicpmv4_6) to wrap the overview image and each slice; ``\n`` between slice rows is the byte token for 0x0A.
#: - ``<unk>``, ``<image_id>``, ``</image_id>``: part of MiniCPM-V's own added tokens (HF processor), kept so prompts
#:   written for the real tokenizer tokenize the same way.
SPECIAL_TOKENS: tuple[tuple[str, int], ...] = (
    ("<|endoftext|>", _TOKEN_CONTROL),
    ("<|im_start|>", _TOKEN_CONTROL),
    ("<|im_end|>", _TOKEN_CONTROL),
    ("<think>", _TOKEN_USER_DEFINED),
    ("</think>", _TOKEN_USER_DEFINED),
    ("<unk>", _TOKEN_CONTROL),
    ("<image>", _TOKEN_CONTROL),
    ("</image>", _TOKEN_CONTROL),
    ("<slice>", _TOKEN_CONTROL),
    ("</slice>", _TOKEN_CONTROL),
    ("<image_id>", _TOKEN_CONTROL),
    ("</image_id>", _TOKEN_CONTROL),
)

#: ChatML that also accepts OpenAI-style content lists (llama-cpp-python's MTMDChatHandler renders image parts as
#: text parts holding the media marker) and, like Qwen3.5's template, an empty think block when thinking is off.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- elif message['content'] -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and not enable_thinking -%}{{- '<think>\\n\\n</think>\\n\\n' -}}{%- endif -%}"
    "{%- endif -%}"
)

# Words whose byte-level BPE merges the tokenizer learns, so ordinary prompts tokenize into a few real tokens.
_MERGE_WORDS: tuple[str, ...] = (
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "on",
    "with",
    "as",
    "was",
    "are",
    "be",
    "this",
    "by",
    "at",
    "from",
    "or",
    "an",
    "not",
    "have",
    "but",
    "all",
    "were",
    "page",
    "text",
    "table",
    "image",
    "document",
    "invoice",
    "total",
    "date",
    "name",
    "number",
    "amount",
    "price",
    "item",
    "description",
    "Describe",
    "Extract",
    "Convert",
    "Markdown",
    "JSON",
    "Answer",
    "question",
    "scan",
    "receipt",
    "line",
    "column",
    "row",
    "Hello",
    "world",
    "you",
    "user",
    "assistant",
    "system",
    "What",
    "How",
    "Which",
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (what byte-level BPE vocabularies are written in)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs, strict=True)}


@dataclass(frozen=True)
class Vocab:
    tokens: list[str]
    token_types: list[int]
    merges: list[str]

    def id_of(self, text: str) -> int:
        return self.tokens.index(text)


def _filler_words() -> Iterator[str]:
    """Endless, deterministic pronounceable words: ba, be, ..., baba, babe, ..."""
    consonants = "bdfgklmnprstvzhjcw"
    vowels = "aeiou"
    syllables = [c + v for c in consonants for v in vowels]
    length = 1
    while True:
        idx = [0] * length
        while True:
            yield "".join(syllables[i] for i in idx)
            pos = length - 1
            while pos >= 0:
                idx[pos] += 1
                if idx[pos] < len(syllables):
                    break
                idx[pos] = 0
                pos -= 1
            if pos < 0:
                break
        length += 1


def build_vocab(n_vocab: int) -> Vocab:
    """A valid byte-level BPE vocabulary of exactly ``n_vocab`` tokens.

    Layout: 256 byte tokens, tokens produced by merges of a few common words, visible filler tokens up to the size,
    then the special tokens (at the end, as in Qwen's vocabulary). Fillers are normal, visible tokens that no merge
    produces: a random model samples mostly fillers, and those must show up as text (unused/[PAD] types would
    decode to nothing and make generated text look empty).
    """
    byte_map = _bytes_to_unicode()
    tokens: list[str] = [byte_map[b] for b in range(256)]
    known = set(tokens)
    merges: list[str] = []
    space = byte_map[ord(" ")]
    n_specials = len(SPECIAL_TOKENS)
    budget = n_vocab - n_specials
    if budget < 256 + 16:
        raise ValueError(f"n_vocab {n_vocab} is too small for a byte-level vocabulary")

    for word in _MERGE_WORDS:
        for form in (" " + word, word):
            chars = "".join(byte_map[b] for b in form.encode("utf-8"))
            left = chars[0]
            for ch in chars[1:]:
                merged = left + ch
                if merged not in known and len(tokens) < budget - 16:
                    merges.append(f"{left} {ch}")
                    tokens.append(merged)
                    known.add(merged)
                left = merged

    for word in _filler_words():
        if len(tokens) >= budget:
            break
        candidate = space + word
        if candidate not in known:
            tokens.append(candidate)
            known.add(candidate)

    token_types = [_TOKEN_NORMAL] * len(tokens)
    for text, ttype in SPECIAL_TOKENS:
        tokens.append(text)
        token_types.append(ttype)
    assert len(tokens) == n_vocab
    return Vocab(tokens=tokens, token_types=token_types, merges=merges)
