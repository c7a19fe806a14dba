"""The synthetic twin loads and runs in the real llama.cpp, and its projector slices pages like the real one.

No fakes here: every test goes through llama-cpp-python 0.3.36 and its bundled mtmd.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from paperlens.dev import synth

pytestmark = pytest.mark.integration

llama_cpp = pytest.importorskip("llama_cpp")
mtmd = pytest.importorskip("llama_cpp.mtmd_cpp")
gguf = pytest.importorskip("gguf")

A4_150DPI = (1240, 1754)  # width, height of an A4 page rendered at 150 dpi
N_THREADS = 2


# ---------------------------------------------------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> synth.TwinFiles:
    return synth.build_twin(tmp_path_factory.mktemp("twin"), "tiny", seed=0)


@pytest.fixture(scope="module")
def projector_4x(twin: synth.TwinFiles) -> Path:
    """A 4x (scale factor 2) projector for the same tiny text model, without the ViT merger."""
    _, vision = synth.SIZES["tiny"]
    return synth.write_projector(twin.projector.with_name("mmproj-4x.gguf"), vision, scale_factor=2, seed=0)


@pytest.fixture(scope="module")
def llm(twin: synth.TwinFiles) -> Iterator[llama_cpp.Llama]:
    model = llama_cpp.Llama(
        model_path=str(twin.text), n_ctx=4096, n_batch=512, n_threads=N_THREADS, seed=0, verbose=False
    )
    yield model
    model.close()


@dataclass
class Tokenized:
    image_chunks: list[int]  # tokens per image chunk, in order (overview first, then slices)
    text_tokens: int
    text_ids: list[int]  # all text-chunk token ids, in order
    eval_rc: int
    n_past: int


def _a4_page() -> np.ndarray:
    """A white A4 page with dark 'text lines' (content does not matter to the slicer, only the size)."""
    w, h = A4_150DPI
    page = np.full((h, w, 3), 255, dtype=np.uint8)
    for y in range(150, h - 150, 40):
        page[y : y + 12, 120 : w - 120 - (y % 300)] = 30
    return page


def _tokenize_page(llm: llama_cpp.Llama, projector: Path, *, evaluate: bool) -> Tokenized:
    params = mtmd.mtmd_context_params_default()
    params.use_gpu = False
    params.n_threads = N_THREADS
    params.print_timings = False
    ctx = mtmd.mtmd_init_from_file(str(projector).encode(), llm.model, params)
    assert ctx is not None, "mtmd_init_from_file failed"
    chunks = None
    bitmap = None
    try:
        assert mtmd.mtmd_support_vision(ctx)
        page = _a4_page()
        h, w, _ = page.shape
        buf = (ctypes.c_uint8 * page.size).from_buffer(bytearray(page.tobytes()))
        bitmap = mtmd.mtmd_bitmap_init(w, h, buf)
        assert bitmap is not None

        marker = mtmd.mtmd_default_marker().decode()
        prompt = (
            f"<|im_start|>user\n{marker}\nConvert this page to Markdown.<|im_end|>\n<|im_start|>assistant\n"
        )
        text = mtmd.mtmd_input_text()
        raw = prompt.encode()
        text.text = raw
        text.text_len = len(raw)
        text.add_special = True
        text.parse_special = True
        chunks = mtmd.mtmd_input_chunks_init()
        bitmaps = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
        assert mtmd.mtmd_tokenize(ctx, chunks, ctypes.byref(text), bitmaps, 1) == 0

        image_chunks: list[int] = []
        text_ids: list[int] = []
        for i in range(mtmd.mtmd_input_chunks_size(chunks)):
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                image_chunks.append(mtmd.mtmd_input_chunk_get_n_tokens(chunk))
            else:
                n = ctypes.c_size_t()
                ptr = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                text_ids.extend(ptr[j] for j in range(n.value))

        rc, n_past = -1, 0
        if evaluate:
            llm.reset()
            llm._ctx.kv_cache_clear()
            new_n_past = llama_cpp.llama_pos(0)
            rc = mtmd.mtmd_helper_eval_chunks(
                ctx, llm._ctx.ctx, chunks, 0, 0, llm.n_batch, True, ctypes.byref(new_n_past)
            )
            n_past = new_n_past.value
        return Tokenized(image_chunks, len(text_ids), text_ids, rc, n_past)
    finally:
        if chunks is not None:
            mtmd.mtmd_input_chunks_free(chunks)
        if bitmap is not None:
            mtmd.mtmd_bitmap_free(bitmap)
        mtmd.mtmd_free(ctx)


def _eog_bias(llm: llama_cpp.Llama) -> dict[int, float]:
    """A random model may end its turn at once: bias against end-of-turn tokens (ids looked up, never hard-coded)."""
    ids = {llm.token_eos()}
    for text in ("<|im_end|>", "<|endoftext|>"):
        ids.update(llm.tokenize(text.encode(), add_bos=False, special=True))
    return {i: -100.0 for i in ids}


def _metadata(path: Path) -> tuple[dict[str, object], set[str]]:
    reader = gguf.GGUFReader(str(path))
    meta: dict[str, object] = {}
    for field in reader.fields.values():
        if field.name.startswith("tokenizer.ggml.") and field.name not in (
            "tokenizer.ggml.model",
            "tokenizer.ggml.pre",
        ):
            meta[field.name] = len(field.data)  # arrays: only their length
            continue
        meta[field.name] = field.contents()
    return meta, {t.name for t in reader.tensors}


# ---------------------------------------------------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------------------------------------------------
def test_text_metadata_says_qwen35_with_tied_embeddings(twin: synth.TwinFiles) -> None:
    # GIVEN the tiny twin's text model
    text_shape, _ = synth.SIZES["tiny"]
    # WHEN its GGUF metadata is read
    meta, tensors = _metadata(twin.text)
    # THEN it declares the architecture, the hybrid layout and the tokenizer llama.cpp expects
    assert meta["general.architecture"] == "qwen35"
    assert meta["qwen35.block_count"] == text_shape.n_layer == 4
    assert meta["qwen35.full_attention_interval"] == 4
    assert meta["qwen35.rope.dimension_sections"] == [11, 11, 10, 0]
    assert meta["tokenizer.ggml.model"] == "gpt2"
    assert meta["tokenizer.ggml.tokens"] == text_shape.n_vocab
    assert "<|im_start|>" in meta["tokenizer.chat_template"]
    assert "output.weight" not in tensors and "token_embd.weight" in tensors
    assert {"blk.0.ssm_a", "blk.0.attn_qkv.weight", "blk.3.attn_q.weight"} <= tensors
    assert "blk.3.ssm_a" not in tensors  # layer 3 is the full-attention layer of the group


def test_projector_metadata_is_the_official_16x_layout(twin: synth.TwinFiles) -> None:
    # GIVEN the projector build_twin writes
    meta, tensors = _metadata(twin.projector)
    # THEN it is a minicpmv4_6 projector in 16x mode with the ViT merger, like the published file
    assert meta["general.architecture"] == "clip"
    assert meta["clip.projector_type"] == "minicpmv4_6"
    assert meta["clip.vision.projector.scale_factor"] == 4
    assert meta["clip.vision.image_size"] == 448
    assert meta["clip.vision.patch_size"] == 14
    assert meta["clip.vision.wa_layer_indexes"] == [synth.SIZES["tiny"][1].insert_layer]
    assert meta["clip.vision.projection_dim"] == synth.SIZES["tiny"][0].n_embd
    assert any(name.startswith("v.vit_merger.") for name in tensors)


def test_4x_projector_leaves_out_the_vit_merger(projector_4x: Path) -> None:
    meta, tensors = _metadata(projector_4x)
    assert meta["clip.vision.projector.scale_factor"] == 2
    assert not any(name.startswith("v.vit_merger.") for name in tensors)


def test_same_seed_gives_identical_files(twin: synth.TwinFiles, tmp_path: Path) -> None:
    again = synth.build_twin(tmp_path, "tiny", seed=0)
    assert again.text.read_bytes() == twin.text.read_bytes()
    assert again.projector.read_bytes() == twin.projector.read_bytes()


# ---------------------------------------------------------------------------------------------------------------------
# text model in llama.cpp
# ---------------------------------------------------------------------------------------------------------------------
def test_special_tokens_are_single_tokens(llm: llama_cpp.Llama) -> None:
    for text in (
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "<think>",
        "</think>",
        "<image>",
        "<slice>",
        "<unk>",
    ):
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        assert len(ids) == 1, text
        assert llm.detokenize(ids, special=True).decode() == text
    assert llm.detokenize([llm.token_eos()], special=True) == b"<|im_end|>"


def test_text_model_generates_visible_text(llm: llama_cpp.Llama) -> None:
    # GIVEN a ChatML conversation rendered by the GGUF's own chat template
    messages = [{"role": "user", "content": "Describe the page."}]
    # WHEN the twin generates with end-of-turn biased away
    out = llm.create_chat_completion(
        messages=messages, max_tokens=24, temperature=0.8, seed=1, logit_bias=_eog_bias(llm)
    )
    text = out["choices"][0]["message"]["content"]
    # THEN tokens come out, finite logits give visible characters (not empty pieces)
    assert out["usage"]["completion_tokens"] >= 24
    assert len(text.strip()) > 10
    # the logits llama.cpp computed for the last token (Llama.scores is never written without logits_all: reading it
    # read whatever memory held, and failed once other tests had used that memory)
    last = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    assert np.isfinite(np.ctypeslib.as_array(last, shape=(llm.n_vocab(),))).all()


# ---------------------------------------------------------------------------------------------------------------------
# projector through mtmd: slicing and image-token counts
# ---------------------------------------------------------------------------------------------------------------------
def test_16x_projector_gives_the_real_models_token_count_and_evaluates(
    llm: llama_cpp.Llama, twin: synth.TwinFiles
) -> None:
    # GIVEN an A4 page at 150 dpi and the 16x projector
    # WHEN mtmd slices, tokenizes and evaluates it
    result = _tokenize_page(llm, twin.projector, evaluate=True)
    # THEN it is what the real model gets: a 392x560 overview (28x40 patches / 16 = 70 tokens) and a 2 x 4 grid of
    # 504x392 slices (36x28 patches / 16 = 63 tokens each)
    assert result.image_chunks == [70] + [63] * 8
    assert sum(result.image_chunks) == 574
    # AND the wrappers mtmd looks up by name exist in the vocabulary (a missing one would show up as id -1)
    wrappers = ("<image>", "</image>", "<slice>", "</slice>", "\n")
    wrapper_ids = {w: llm.tokenize(w.encode(), add_bos=False, special=True) for w in wrappers}
    assert all(len(ids) == 1 for ids in wrapper_ids.values())
    assert -1 not in result.text_ids
    for w in ("<image>", "</image>", "<slice>", "</slice>"):
        assert wrapper_ids[w][0] in result.text_ids, w
    assert result.text_ids.count(wrapper_ids["<slice>"][0]) == 8
    # AND the whole prompt evaluates
    assert result.eval_rc == 0
    assert result.n_past == sum(result.image_chunks) + result.text_tokens


def test_4x_projector_gives_about_4_times_the_tokens(llm: llama_cpp.Llama, projector_4x: Path) -> None:
    # GIVEN the same page and a scale-factor-2 projector
    result = _tokenize_page(llm, projector_4x, evaluate=True)
    # THEN the slicer aligns to 28 px instead of 56 px: 364x532 overview and 532x364 slices, 13x19 = 247 tokens each
    assert result.image_chunks == [247] * 9
    assert sum(result.image_chunks) == 2223  # the real model's 4x count; 3.9 x the 16x count
    assert result.eval_rc == 0


# ---------------------------------------------------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------------------------------------------------
def test_cached_twin_builds_once_and_survives_a_race(tmp_path: Path) -> None:
    # GIVEN an empty cache and two processes asking for the same twin at the same moment
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        first, second = pool.map(synth.cached_twin, ["tiny", "tiny"], [tmp_path, tmp_path])
    # THEN both get the same complete files, and no temporary folders remain
    assert first == second
    assert first.text.is_file() and first.projector.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [first.text.parent.name]
    # WHEN asked again, nothing is rebuilt
    mtime = first.text.stat().st_mtime_ns
    time.sleep(0.01)
    assert synth.cached_twin("tiny", tmp_path) == first
    assert first.text.stat().st_mtime_ns == mtime


def test_cached_twin_rebuilds_a_damaged_entry(tmp_path: Path) -> None:
    files = synth.cached_twin("tiny", tmp_path)
    files.projector.unlink()
    again = synth.cached_twin("tiny", tmp_path)
    assert again.projector.is_file()


# ---------------------------------------------------------------------------------------------------------------------
# full size: for benchmarks; slow (about a minute to build, 1.6 GB on disk), run on request
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.skipif(
    os.environ.get("PAPERLENS_TEST_FULL_TWIN") != "1", reason="set PAPERLENS_TEST_FULL_TWIN=1"
)
def test_full_twin_loads_and_encodes_a_page(tmp_path: Path) -> None:
    files = synth.build_twin(tmp_path, "full")
    assert not list(tmp_path.glob("*F16.gguf.tmp*")) and len(list(tmp_path.iterdir())) == 2
    meta, _ = _metadata(files.text)
    assert meta["general.file_type"] == llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert meta["tokenizer.ggml.tokens"] == 248094
    model = llama_cpp.Llama(model_path=str(files.text), n_ctx=4096, n_threads=N_THREADS, verbose=False)
    try:
        result = _tokenize_page(model, files.projector, evaluate=True)
        assert result.image_chunks == [70] + [63] * 8 and result.eval_rc == 0
    finally:
        model.close()
