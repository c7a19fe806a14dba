"""Synthetic twin of MiniCPM-V 4.6: GGUF files with the real architecture and random weights.

Why this exists: the real weights (about 0.5 GB of text model plus a 1.1 GB projector) cannot be downloaded in CI or
on a developer machine without network, yet everything PaperLens does with them (loading, slicing a page into image
tokens, encoding, prefill, streaming, state reuse, timing) depends only on the *architecture*, never on what the
weights say. So we write files that the real llama.cpp loads through exactly the code paths the official files take:

- a text model of arch ``qwen35`` (hybrid Gated-DeltaNet + gated full attention, IMROPE, tied embeddings) with a small
  byte-level BPE tokenizer that carries every special token the ChatML template and ``mtmd`` need;
- a projector of type ``minicpmv4_6`` in 16x mode (``clip.vision.projector.scale_factor = 4``, ViT merger present),
  like the only projector that is published; :func:`write_projector` can also write the 4x variant for tests.

``size="tiny"`` builds in about a second and is what the integration tests run on; its vision tower keeps the real
patch size, slice size and merger structure, so a page yields the same number of image tokens as the real model.
``size="full"`` has the real shapes (text quantized to Q4_K_M like the official default) and is for benchmarks:
its speed and memory are the real model's, its answers are noise.

Tensor names, shapes, dtypes and metadata keys mirror llama.cpp's converter (``conversion/minicpm.py``,
``conversion/qwen.py``) and loaders (``src/models/qwen35.cpp``, ``tools/mtmd/clip.cpp``) of llama-cpp-python 0.3.36.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import gguf

__all__ = [
    "SIZES",
    "TWIN_VERSION",
    "TextShape",
    "TwinFiles",
    "VisionShape",
    "build_twin",
    "cached_twin",
    "default_cache_dir",
    "twin_file_names",
    "write_projector",
    "write_text_model",
]

#: Bump whenever the files build_twin writes change, so cached twins are rebuilt.
TWIN_VERSION = 1

Progress = Callable[[str], None]

# llama.cpp token types (llama.h: enum llama_token_type)
_TOKEN_NORMAL = 1
_TOKEN_CONTROL = 3
_TOKEN_USER_DEFINED = 4

_FTYPE_F16 = 1  # LLAMA_FTYPE_MOSTLY_F16
_GGUF_F16 = 1  # GGMLQuantizationType.F16
_GGUF_F32 = 0  # GGMLQuantizationType.F32

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


@dataclass(frozen=True)
class TwinFiles:
    """The two GGUF files of a twin."""

    text: Path
    projector: Path


@dataclass(frozen=True)
class TextShape:
    """Hyperparameters of the qwen35 text tower (names follow llama.cpp's metadata keys)."""

    n_embd: int
    n_layer: int
    n_ff: int
    n_head: int
    n_head_kv: int
    head_dim: int
    rope_dim: int
    rope_sections: tuple[int, int, int, int]
    ssm_conv_kernel: int
    ssm_state_size: int
    ssm_group_count: int
    ssm_time_step_rank: int
    ssm_inner_size: int
    full_attention_interval: int
    n_vocab: int
    n_ctx_train: int = 262144
    rms_eps: float = 1e-6
    rope_theta: float = 1e7

    def is_recurrent(self, il: int) -> bool:
        """Gated-DeltaNet layer (as llama.cpp derives it from full_attention_interval)."""
        return (il + 1) % self.full_attention_interval != 0


@dataclass(frozen=True)
class VisionShape:
    """Hyperparameters of the SigLIP tower with MiniCPM-V 4.6's ViT merger and final merger."""

    n_embd: int
    n_layer: int
    n_ff: int
    n_head: int
    insert_layer: int  # ViT merger runs after this layer (clip.vision.wa_layer_indexes)
    merger_ff: int  # hidden size of the ViT merger's downsample MLP
    projection_dim: int  # = text n_embd
    patch_size: int = 14
    image_size: int = 448  # slice size, as the official converter writes it
    pos_buckets: int = 70  # the 70 x 70 learned position table
    eps: float = 1e-6


#: size -> (text, vision) shapes. "full" is MiniCPM-V 4.6; "tiny" keeps every structural feature.
SIZES: dict[str, tuple[TextShape, VisionShape]] = {
    "full": (
        TextShape(
            n_embd=1024,
            n_layer=24,
            n_ff=3584,
            n_head=8,
            n_head_kv=2,
            head_dim=256,
            rope_dim=64,
            rope_sections=(11, 11, 10, 0),
            ssm_conv_kernel=4,
            ssm_state_size=128,
            ssm_group_count=16,
            ssm_time_step_rank=16,
            ssm_inner_size=2048,
            full_attention_interval=4,
            n_vocab=248094,
        ),
        VisionShape(
            n_embd=1152,
            n_layer=27,
            n_ff=4304,
            n_head=16,
            insert_layer=6,
            merger_ff=17216,
            projection_dim=1024,
        ),
    ),
    "tiny": (
        TextShape(
            n_embd=128,
            n_layer=4,
            n_ff=256,
            n_head=2,
            n_head_kv=1,
            head_dim=256,
            rope_dim=64,
            rope_sections=(11, 11, 10, 0),
            ssm_conv_kernel=4,
            ssm_state_size=32,
            ssm_group_count=4,
            ssm_time_step_rank=4,
            ssm_inner_size=128,
            full_attention_interval=4,
            n_vocab=2048,
        ),
        VisionShape(
            n_embd=64,
            n_layer=4,
            n_ff=128,
            n_head=2,
            insert_layer=1,
            merger_ff=512,
            projection_dim=128,
        ),
    ),
}


def _shapes(size: str) -> tuple[TextShape, VisionShape]:
    try:
        return SIZES[size]
    except KeyError:
        raise ValueError(f"unknown twin size {size!r}; expected one of {sorted(SIZES)}") from None


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


# ---------------------------------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------------------------------
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
class _Vocab:
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


def _build_vocab(n_vocab: int) -> _Vocab:
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
    return _Vocab(tokens=tokens, token_types=token_types, merges=merges)


# ---------------------------------------------------------------------------------------------------------------------
# GGUF writing (streamed: tensor infos first, then each tensor generated and written on its own)
# ---------------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Tensor:
    name: str
    shape: tuple[int, ...]  # numpy order (outermost first), i.e. ggml ne reversed
    dtype: type  # np.float16 or np.float32
    init: str  # "normal", "ones", "uniform", "ssm_a", "dt_bias"
    std: float = 0.02


def _rng(seed: int, name: str) -> np.random.Generator:
    # One stream per tensor: the file does not depend on the order tensors are generated in.
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))]))


def _materialize(t: _Tensor, seed: int) -> np.ndarray:
    rng = _rng(seed, t.name)
    if t.init == "ones":
        return np.ones(t.shape, dtype=t.dtype)
    if t.init == "ssm_a":  # stored as -exp(A_log), A_log = log(U(1, 16)) as in the HF init
        return (-rng.uniform(1.0, 16.0, size=t.shape)).astype(t.dtype)
    if t.init == "dt_bias":  # inverse softplus of dt ~ logU(1e-3, 1e-1)
        dt = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), size=t.shape))
        return (dt + np.log(-np.expm1(-dt))).astype(t.dtype)
    if t.init == "uniform":
        return rng.uniform(-t.std, t.std, size=t.shape).astype(t.dtype)
    # normal: fill row blocks so a 250M-element embedding never exists in float32 as a whole
    out = np.empty(t.shape, dtype=t.dtype)
    flat = out.reshape(t.shape[0], -1) if len(t.shape) > 1 else out.reshape(1, -1)
    rows_per_block = max(1, (8 << 20) // max(1, flat.shape[1]))
    for start in range(0, flat.shape[0], rows_per_block):
        stop = min(flat.shape[0], start + rows_per_block)
        block = rng.standard_normal((stop - start, flat.shape[1]), dtype=np.float32)
        block *= t.std
        flat[start:stop] = block
    return out


def _write_gguf(
    path: Path,
    arch: str,
    kv: Callable[[gguf.GGUFWriter], None],
    tensors: list[_Tensor],
    seed: int,
    progress: Progress | None,
    label: str,
) -> None:
    """Write a GGUF file atomically: into ``path.tmp-*`` then ``os.replace``."""
    import gguf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    writer = None
    try:
        writer = gguf.GGUFWriter(tmp, arch)
        kv(writer)
        for t in tensors:
            nbytes = int(np.prod(t.shape)) * np.dtype(t.dtype).itemsize
            writer.add_tensor_info(t.name, t.shape, np.dtype(t.dtype), nbytes)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        step = max(1, len(tensors) // 10)
        for i, t in enumerate(tensors):
            writer.write_tensor_data(_materialize(t, seed))
            if (i + 1) % step == 0 or i + 1 == len(tensors):
                _say(progress, f"{label}: {i + 1}/{len(tensors)} tensors")
        writer.close()
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


# ---------------------------------------------------------------------------------------------------------------------
# Text model (arch qwen35)
# ---------------------------------------------------------------------------------------------------------------------
def _text_tensors(s: TextShape) -> list[_Tensor]:
    f16, f32 = np.float16, np.float32
    e = s.n_embd
    key_dim = s.ssm_state_size * s.ssm_group_count
    value_dim = s.ssm_state_size * s.ssm_time_step_rank
    conv_dim = 2 * key_dim + value_dim
    head_v_dim = s.ssm_inner_size // s.ssm_time_step_rank

    out = [_Tensor("token_embd.weight", (s.n_vocab, e), f16, "normal")]
    for il in range(s.n_layer):
        p = f"blk.{il}."
        out += [
            _Tensor(p + "attn_norm.weight", (e,), f32, "ones"),
            _Tensor(p + "post_attention_norm.weight", (e,), f32, "ones"),
        ]
        if s.is_recurrent(il):
            out += [
                _Tensor(p + "attn_qkv.weight", (conv_dim, e), f16, "normal"),
                _Tensor(p + "attn_gate.weight", (value_dim, e), f16, "normal"),
                _Tensor(p + "ssm_conv1d.weight", (conv_dim, s.ssm_conv_kernel), f32, "uniform", 0.5),
                _Tensor(p + "ssm_dt.bias", (s.ssm_time_step_rank,), f32, "dt_bias"),
                _Tensor(p + "ssm_a", (s.ssm_time_step_rank,), f32, "ssm_a"),
                _Tensor(p + "ssm_beta.weight", (s.ssm_time_step_rank, e), f16, "normal"),
                _Tensor(p + "ssm_alpha.weight", (s.ssm_time_step_rank, e), f16, "normal"),
                _Tensor(p + "ssm_norm.weight", (head_v_dim,), f32, "ones"),
                _Tensor(p + "ssm_out.weight", (e, value_dim), f16, "normal"),
            ]
        else:
            out += [
                _Tensor(p + "attn_q.weight", (2 * s.n_head * s.head_dim, e), f16, "normal"),
                _Tensor(p + "attn_k.weight", (s.n_head_kv * s.head_dim, e), f16, "normal"),
                _Tensor(p + "attn_v.weight", (s.n_head_kv * s.head_dim, e), f16, "normal"),
                _Tensor(p + "attn_output.weight", (e, s.n_head * s.head_dim), f16, "normal"),
                _Tensor(p + "attn_q_norm.weight", (s.head_dim,), f32, "ones"),
                _Tensor(p + "attn_k_norm.weight", (s.head_dim,), f32, "ones"),
            ]
        out += [
            _Tensor(p + "ffn_gate.weight", (s.n_ff, e), f16, "normal"),
            _Tensor(p + "ffn_up.weight", (s.n_ff, e), f16, "normal"),
            _Tensor(p + "ffn_down.weight", (e, s.n_ff), f16, "normal"),
        ]
    out.append(_Tensor("output_norm.weight", (e,), f32, "ones"))  # no output.weight: embeddings are tied
    return out


def write_text_model(
    path: Path, shape: TextShape, *, seed: int = 0, name: str = "twin", progress: Progress | None = None
) -> Path:
    """Write an F16 text GGUF of arch ``qwen35`` with a synthetic tokenizer; returns ``path``."""
    s = shape
    if s.ssm_inner_size != s.ssm_state_size * s.ssm_time_step_rank:
        raise ValueError("qwen35 needs ssm_inner_size == ssm_state_size * ssm_time_step_rank")
    if sum(s.rope_sections) * 2 != s.rope_dim:
        raise ValueError("rope sections must cover rope_dim / 2")
    vocab = _build_vocab(s.n_vocab)
    arch = "qwen35"

    def kv(w: gguf.GGUFWriter) -> None:
        w.add_type("model")
        w.add_name(f"MiniCPM-V 4.6 synthetic twin ({name}, random weights)")
        w.add_description("PaperLens synthetic twin: real architecture, random weights. Outputs are noise.")
        w.add_uint32("general.file_type", _FTYPE_F16)
        w.add_uint32("general.quantization_version", 2)
        w.add_uint32(f"{arch}.context_length", s.n_ctx_train)
        w.add_uint32(f"{arch}.embedding_length", s.n_embd)
        w.add_uint32(f"{arch}.block_count", s.n_layer)
        w.add_uint32(f"{arch}.feed_forward_length", s.n_ff)
        w.add_uint32(f"{arch}.attention.head_count", s.n_head)
        w.add_uint32(f"{arch}.attention.head_count_kv", s.n_head_kv)
        w.add_uint32(f"{arch}.attention.key_length", s.head_dim)
        w.add_uint32(f"{arch}.attention.value_length", s.head_dim)
        w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", s.rms_eps)
        w.add_float32(f"{arch}.rope.freq_base", s.rope_theta)
        w.add_uint32(f"{arch}.rope.dimension_count", s.rope_dim)
        w.add_array(f"{arch}.rope.dimension_sections", list(s.rope_sections))
        w.add_uint32(f"{arch}.ssm.conv_kernel", s.ssm_conv_kernel)
        w.add_uint32(f"{arch}.ssm.state_size", s.ssm_state_size)
        w.add_uint32(f"{arch}.ssm.group_count", s.ssm_group_count)
        w.add_uint32(f"{arch}.ssm.time_step_rank", s.ssm_time_step_rank)
        w.add_uint32(f"{arch}.ssm.inner_size", s.ssm_inner_size)
        w.add_uint32(f"{arch}.full_attention_interval", s.full_attention_interval)
        # tokenizer
        w.add_string("tokenizer.ggml.model", "gpt2")
        w.add_string("tokenizer.ggml.pre", "qwen35")
        w.add_array("tokenizer.ggml.tokens", vocab.tokens)
        w.add_array("tokenizer.ggml.token_type", vocab.token_types)
        w.add_array("tokenizer.ggml.merges", vocab.merges)
        w.add_uint32("tokenizer.ggml.eos_token_id", vocab.id_of("<|im_end|>"))
        w.add_uint32("tokenizer.ggml.padding_token_id", vocab.id_of("<|endoftext|>"))
        w.add_uint32("tokenizer.ggml.bos_token_id", vocab.id_of("<|endoftext|>"))
        w.add_uint32("tokenizer.ggml.unknown_token_id", vocab.id_of("<unk>"))
        w.add_bool("tokenizer.ggml.add_bos_token", False)
        w.add_string("tokenizer.chat_template", CHAT_TEMPLATE)

    _write_gguf(Path(path), arch, kv, _text_tensors(s), seed, progress, "text")
    return Path(path)


# ---------------------------------------------------------------------------------------------------------------------
# Projector (clip, projector type minicpmv4_6)
# ---------------------------------------------------------------------------------------------------------------------
def _vision_tensors(v: VisionShape, scale_factor: int) -> list[_Tensor]:
    f16, f32 = np.float16, np.float32
    h = v.n_embd
    out = [
        _Tensor("v.patch_embd.weight", (h, 3, v.patch_size, v.patch_size), f16, "normal"),
        _Tensor("v.patch_embd.bias", (h,), f32, "normal"),
        # F32 like the converter writes V_ENC_EMBD_POS
        _Tensor("v.position_embd.weight", (v.pos_buckets * v.pos_buckets, h), f32, "normal"),
    ]
    for il in range(v.n_layer):
        p = f"v.blk.{il}."
        for proj in ("attn_q", "attn_k", "attn_v", "attn_out"):
            out += [
                _Tensor(p + proj + ".weight", (h, h), f16, "normal"),
                _Tensor(p + proj + ".bias", (h,), f32, "normal"),
            ]
        out += [
            _Tensor(p + "ln1.weight", (h,), f32, "ones"),
            _Tensor(p + "ln1.bias", (h,), f32, "normal"),
            _Tensor(p + "ffn_up.weight", (v.n_ff, h), f16, "normal"),
            _Tensor(p + "ffn_up.bias", (v.n_ff,), f32, "normal"),
            _Tensor(p + "ffn_down.weight", (h, v.n_ff), f16, "normal"),
            _Tensor(p + "ffn_down.bias", (h,), f32, "normal"),
            _Tensor(p + "ln2.weight", (h,), f32, "ones"),
            _Tensor(p + "ln2.bias", (h,), f32, "normal"),
        ]
    out += [_Tensor("v.post_ln.weight", (h,), f32, "ones"), _Tensor("v.post_ln.bias", (h,), f32, "normal")]
    if (
        scale_factor == 4
    ):  # 16x mode: the ViT merger (window attention + 2x2 downsample MLP) after insert_layer
        p = "v.vit_merger."
        out += [_Tensor(p + "ln1.weight", (h,), f32, "ones"), _Tensor(p + "ln1.bias", (h,), f32, "normal")]
        for proj in ("attn_q", "attn_k", "attn_v", "attn_out"):
            out += [
                _Tensor(p + proj + ".weight", (h, h), f16, "normal"),
                _Tensor(p + proj + ".bias", (h,), f32, "normal"),
            ]
        out += [
            _Tensor(p + "ds_ln.weight", (4 * h,), f32, "ones"),
            _Tensor(p + "ds_ln.bias", (4 * h,), f32, "normal"),
            _Tensor(p + "ds_ffn_up.weight", (v.merger_ff, 4 * h), f16, "normal"),
            _Tensor(p + "ds_ffn_up.bias", (v.merger_ff,), f32, "normal"),
            _Tensor(p + "ds_ffn_down.weight", (h, v.merger_ff), f16, "normal"),
            _Tensor(p + "ds_ffn_down.bias", (h,), f32, "normal"),
        ]
    # final merger (DownsampleMLP): LN(4h) -> 4h -> 4h -> text n_embd
    out += [
        _Tensor("mm.input_norm.weight", (4 * h,), f32, "ones"),
        _Tensor("mm.input_norm.bias", (4 * h,), f32, "normal"),
        _Tensor("mm.up.weight", (4 * h, 4 * h), f16, "normal"),
        _Tensor("mm.up.bias", (4 * h,), f32, "normal"),
        _Tensor("mm.down.weight", (v.projection_dim, 4 * h), f16, "normal"),
        _Tensor("mm.down.bias", (v.projection_dim,), f32, "normal"),
    ]
    return out


def write_projector(
    path: Path,
    shape: VisionShape,
    *,
    scale_factor: int = 4,
    seed: int = 0,
    name: str = "twin",
    progress: Progress | None = None,
) -> Path:
    """Write an F16 ``minicpmv4_6`` projector GGUF; returns ``path``.

    ``scale_factor=4`` is the official 16x file (64 tokens per 448 px slice, ViT merger present);
    ``scale_factor=2`` is the 4x variant (256 tokens per slice, ``v.vit_merger.*`` left out), as the converter writes
    it for ``downsample_mode = "4x"``.
    """
    v = shape
    if scale_factor not in (2, 4):
        raise ValueError("minicpmv4_6 supports scale_factor 2 (4x) or 4 (16x)")
    if not 0 <= v.insert_layer < v.n_layer:
        raise ValueError("insert_layer must be a valid layer index")

    def kv(w: gguf.GGUFWriter) -> None:
        w.add_type("mmproj")
        w.add_name(f"MiniCPM-V 4.6 synthetic twin ({name}, random weights)")
        w.add_description("PaperLens synthetic twin projector: real architecture, random weights.")
        w.add_uint32("general.file_type", _FTYPE_F16)
        w.add_bool("clip.has_vision_encoder", True)
        w.add_uint32("clip.vision.projection_dim", v.projection_dim)
        w.add_uint32("clip.vision.image_size", v.image_size)
        w.add_uint32("clip.vision.patch_size", v.patch_size)
        w.add_uint32("clip.vision.embedding_length", v.n_embd)
        w.add_uint32("clip.vision.feed_forward_length", v.n_ff)
        w.add_uint32("clip.vision.block_count", v.n_layer)
        w.add_uint32("clip.vision.attention.head_count", v.n_head)
        w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
        w.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
        w.add_string("clip.projector_type", "minicpmv4_6")
        w.add_uint32("clip.vision.projector.scale_factor", scale_factor)
        w.add_array("clip.vision.wa_layer_indexes", [v.insert_layer])
        w.add_bool("clip.use_gelu", True)
        w.add_float32("clip.vision.attention.layer_norm_epsilon", v.eps)

    _write_gguf(Path(path), "clip", kv, _vision_tensors(v, scale_factor), seed, progress, "projector")
    return Path(path)


# ---------------------------------------------------------------------------------------------------------------------
# Quantization and the public entry points
# ---------------------------------------------------------------------------------------------------------------------
def _quantize_q4_k_m(src: Path, dst: Path) -> None:
    """Quantize with llama.cpp itself, as the official Q4_K_M file was made; atomic like the writers."""
    import llama_cpp

    from paperlens.core.engine import route_llama_logs

    route_llama_logs()  # llama.cpp would print a line per tensor to stderr
    tmp = dst.with_name(f"{dst.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    try:
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
        params.nthread = max(1, min(4, os.cpu_count() or 1))
        rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
        if rc != 0:
            raise RuntimeError(f"llama_model_quantize failed with code {rc}")
        os.replace(tmp, dst)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def twin_file_names(size: str) -> tuple[str, str]:
    """File names (text, projector) that build_twin writes for ``size``."""
    _shapes(size)
    quant = "Q4_K_M" if size == "full" else "F16"
    return (f"MiniCPM-V-4_6-twin-{size}-{quant}.gguf", f"mmproj-MiniCPM-V-4_6-twin-{size}-F16.gguf")


def build_twin(
    out_dir: Path, size: str = "tiny", seed: int = 0, progress: Progress | None = None
) -> TwinFiles:
    """Write a twin's text model and 16x projector into ``out_dir`` (created if needed).

    ``tiny``: F16 text model, a few MB in all, about a second. ``full``: real shapes; the text model is written in F16,
    quantized to Q4_K_M with llama.cpp (about a minute in all on two cores) and the F16 file removed.
    """
    text_shape, vision_shape = _shapes(size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text_name, proj_name = twin_file_names(size)
    text_path, proj_path = out_dir / text_name, out_dir / proj_name

    t0 = time.perf_counter()
    if size == "full":
        f16_path = out_dir / text_name.replace("Q4_K_M", "F16")
        try:
            write_text_model(f16_path, text_shape, seed=seed, name=size, progress=progress)
            _say(progress, f"text: quantizing to Q4_K_M ({time.perf_counter() - t0:.0f} s so far)")
            _quantize_q4_k_m(f16_path, text_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                f16_path.unlink()
    else:
        write_text_model(text_path, text_shape, seed=seed, name=size, progress=progress)
    write_projector(proj_path, vision_shape, scale_factor=4, seed=seed, name=size, progress=progress)
    _say(progress, f"twin {size!r} built in {time.perf_counter() - t0:.1f} s")
    return TwinFiles(text=text_path, projector=proj_path)


def default_cache_dir() -> Path:
    """Where cached twins live: ``<user cache dir>/PaperLens/twins``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("PaperLens")) / "twins"


_MANIFEST = "twin.json"
_STALE_TMP_S = 6 * 3600


def cached_twin(size: str, cache_dir: Path | None = None, *, seed: int = 0) -> TwinFiles:
    """Return a twin from the cache, building it on first use.

    The folder is keyed by :data:`TWIN_VERSION`, size and seed. A build goes into a private temporary folder that is
    renamed into place only when complete (the manifest is written last), so concurrent processes never see a half
    written twin: the first rename wins and the loser discards its copy.
    """
    _shapes(size)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    key = f"v{TWIN_VERSION}-{size}-seed{seed}"
    final = root / key

    found = _read_manifest(final)
    if found is not None:
        return found

    _sweep_stale(root, key)
    # exists() before reading the manifest: a folder that appears in between was renamed in complete by another
    # process; only one that exists *and* has no valid manifest is damaged (say, a file of it was deleted)
    if final.exists():
        found = _read_manifest(final)
        if found is not None:
            return found
        trash = root / f"{key}.broken-{os.getpid()}-{time.monotonic_ns()}"
        with contextlib.suppress(OSError):
            final.rename(trash)
            shutil.rmtree(trash, ignore_errors=True)

    tmp = Path(tempfile.mkdtemp(prefix=f"{key}.tmp-", dir=root))
    try:
        files = build_twin(tmp, size=size, seed=seed)
        manifest = {"version": TWIN_VERSION, "size": size, "seed": seed}
        manifest.update(text=files.text.name, projector=files.projector.name)
        (tmp / _MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        try:
            tmp.rename(final)
        except OSError:
            # another process renamed its build into place first; use that one
            found = _read_manifest(final)
            if found is None:
                raise
            return found
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    found = _read_manifest(final)
    if found is None:  # pragma: no cover - only if someone deletes the folder right now
        raise RuntimeError(f"twin cache at {final} vanished after it was built")
    return found


def _read_manifest(folder: Path) -> TwinFiles | None:
    try:
        data = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        files = TwinFiles(text=folder / data["text"], projector=folder / data["projector"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("version") != TWIN_VERSION or not (files.text.is_file() and files.projector.is_file()):
        return None
    return files


def _sweep_stale(root: Path, key: str) -> None:
    """Remove temporary build folders of crashed builds (older than a few hours)."""
    now = time.time()
    for entry in root.glob(f"{key}.*"):
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime > _STALE_TMP_S:
                shutil.rmtree(entry, ignore_errors=True)
