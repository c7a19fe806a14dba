"""The engine on the real llama.cpp with the tiny synthetic twin: modes, streaming, cancel, page reuse, errors."""

from __future__ import annotations

import shutil
import threading

import gguf
import pytest
from PIL import Image

from paperlens.core.engine import EngineConfig, LlamaEngine
from paperlens.core.errors import (
    ContextOverflow,
    ImageDecodeError,
    ModelInvalid,
    ModelNotFound,
    OutOfMemory,
    ProjectorMismatch,
)
from paperlens.core.models import scan_model_dir
from paperlens.core.prompts import ask_task, parse_task
from paperlens.core.runs import Finish
from tests.conftest import a4_page

pytestmark = pytest.mark.integration


def engine_for(folder, mode="16x", **kw) -> LlamaEngine:
    cfg = dict(mode=mode, device="cpu", n_ctx=4096, max_tokens=24, temperature=0.8, suppress_eos=True)
    cfg.update(kw)
    return LlamaEngine(scan_model_dir(folder), EngineConfig(**cfg))


@pytest.fixture(scope="module")
def engines(tiny_model_dir):
    """One loaded engine per mode, shared by the tests that only run tasks."""
    made = {m: engine_for(tiny_model_dir, m) for m in ("16x", "4x")}
    for e in made.values():
        e.load()
    yield made
    for e in made.values():
        e.close()


def test_4x_keeps_four_times_the_image_tokens_of_16x(engines):
    page = a4_page()
    r16 = engines["16x"].run(parse_task(), page)
    r4 = engines["4x"].run(parse_task(), page)
    # the real model's figures for an A4 page at 150 dpi (MODEL_FACTS): 574 and 2,223
    assert r16.stats.image_tokens == 574
    assert r4.stats.image_tokens == 2223
    assert r4.stats.image_tokens / r16.stats.image_tokens == pytest.approx(4, rel=0.05)
    assert r4.stats.mode == "4x" and r16.stats.mode == "16x"


def test_run_streams_text_and_reports_every_figure(engines):
    pieces: list[str] = []
    r = engines["16x"].run(parse_task(), a4_page("streaming"), on_chunk=pieces.append)
    assert len(pieces) > 1
    assert "".join(pieces) == r.text and r.text.strip()
    s = r.stats
    assert r.finish == Finish.LENGTH and s.generated_tokens >= 24
    assert s.prompt_tokens > s.image_tokens > 0
    assert 0 < s.ttft_s <= s.wall_s
    assert s.decode_tokens_per_s > 0 and s.peak_rss_mb > 50


def test_cancel_between_tokens_keeps_partial_text_and_engine_usable(engines):
    eng = engines["16x"]
    cancel = threading.Event()
    pieces: list[str] = []

    def on_chunk(piece):
        pieces.append(piece)
        if len(pieces) == 5:
            cancel.set()

    r = eng.run(parse_task(), a4_page("cancel me"), on_chunk=on_chunk, cancel=cancel, max_tokens=200)
    assert r.finish == Finish.CANCELLED and r.cancelled
    assert r.text == "".join(pieces) and 5 <= r.stats.generated_tokens < 10
    again = eng.run(parse_task(), a4_page("after cancel"))
    assert again.finish == Finish.LENGTH


def test_cancel_before_start_encodes_nothing(engines):
    cancel = threading.Event()
    cancel.set()
    r = engines["4x"].run(parse_task(), a4_page("never"), cancel=cancel)
    assert r.cancelled and r.text == "" and r.stats.generated_tokens == 0


def test_follow_up_question_does_not_encode_the_image_again(engines):
    eng = engines["4x"]
    page = a4_page("follow-up page")
    first = eng.run(ask_task("What is the total?"), page)
    second = eng.run(ask_task("And the date?", history=(("What is the total?", first.text),)), page)
    assert not first.stats.image_reused and first.stats.encode_s > 0
    assert second.stats.image_reused and second.stats.encode_s == 0
    assert second.stats.image_tokens == first.stats.image_tokens
    assert second.stats.ttft_s < first.stats.ttft_s / 3  # the full-size figure is in the benchmark
    # parsing the same page afterwards reuses it too: every page task shares the prefix before the image
    assert eng.run(parse_task(), page).stats.image_reused


def test_restored_state_gives_the_same_answer_as_a_fresh_encode(tiny_model_dir):
    page = a4_page("determinism")
    eng = engine_for(tiny_model_dir, "16x", temperature=0.0, max_tokens=12)
    with eng:
        fresh = eng.run(ask_task("Q?"), page)
        reused = eng.run(ask_task("Q?"), page)
        eng.forget_pages()
        again = eng.run(ask_task("Q?"), page)
    assert reused.stats.image_reused and not again.stats.image_reused
    assert fresh.text == reused.text == again.text


def test_repetition_guard_stops_a_loop_and_marks_it(tiny_model_dir):
    # Greedy decoding makes the random twin emit the same token over and over: a real loop.
    eng = engine_for(tiny_model_dir, "16x", temperature=0.0, repeat_penalty=1.0, max_tokens=1500)
    with eng:
        r = eng.run(parse_task(), Image.new("RGB", (448, 448), "white"))
    assert r.finish == Finish.REPETITION
    assert r.stats.generated_tokens < 160  # the looping tail was cut down to one copy


def test_context_overflow_is_refused_and_engine_stays_usable(tiny_model_dir):
    eng = engine_for(tiny_model_dir, "4x", n_ctx=1024)
    with eng:
        with pytest.raises(ContextOverflow) as err:
            eng.run(parse_task(), a4_page())
        assert "2" in str(err.value) and "16x" in str(err.value)  # says the size and what to do
        small = eng.run(parse_task(), Image.new("RGB", (300, 200), "white"))
    assert small.finish == Finish.LENGTH


def test_image_that_does_not_decode_is_a_clear_error(engines, tmp_path):
    good = tmp_path / "good.png"
    a4_page().save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:3000])  # the header opens, the pixels are cut off
    with pytest.raises(ImageDecodeError) as err:
        engines["16x"].run(parse_task(), Image.open(bad))
    assert "decoded" in str(err.value)
    assert engines["16x"].run(parse_task(), a4_page()).finish == Finish.LENGTH


def test_missing_model_says_which_files_and_where(tmp_path):
    with pytest.raises(ModelNotFound) as err:
        LlamaEngine(scan_model_dir(tmp_path), EngineConfig(device="cpu")).load()
    assert "huggingface.co/openbmb/MiniCPM-V-4.6-gguf" in str(err.value)


def test_truncated_text_model_is_named(fresh_model_dir):
    text = next(p for p in fresh_model_dir.iterdir() if not p.name.startswith("mmproj"))
    data = text.read_bytes()
    text.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelNotFound) as err:  # a broken file is skipped and named in the message
        engine_for(fresh_model_dir).load()
    assert text.name in str(err.value) and "truncated" in str(err.value)


def test_file_damaged_after_scan_is_refused_at_load(fresh_model_dir):
    models = scan_model_dir(fresh_model_dir)
    proj = models.projectors["16x"].path
    proj.write_bytes(proj.read_bytes()[:5000])
    with pytest.raises(ModelInvalid) as err:
        LlamaEngine(models, EngineConfig(mode="16x", device="cpu")).load()
    assert proj.name in str(err.value)


def test_projector_of_another_model_is_refused(fresh_model_dir, tmp_path):
    # Rewrite the projector with another output width, as a projector of a bigger model would have.
    proj = next(p for p in fresh_model_dir.iterdir() if p.name.startswith("mmproj"))
    reader = gguf.GGUFReader(proj)
    out = tmp_path / "other.gguf"
    w = gguf.GGUFWriter(out, "clip")
    for key, f in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        value = 4096 if key == "clip.vision.projection_dim" else f.contents()
        sub = f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, value, f.types[0], sub_type=sub)
    for t in reader.tensors:
        w.add_tensor(t.name, t.data, raw_shape=t.data.shape, raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    shutil.move(out, proj)
    with pytest.raises(ProjectorMismatch):
        engine_for(fresh_model_dir).load()


def test_not_enough_memory_is_refused_before_loading(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("PAPERLENS_FAKE_AVAILABLE_MB", "100")
    eng = engine_for(tiny_model_dir)
    with pytest.raises(OutOfMemory) as err:
        eng.load()
    assert "memory" in str(err.value) and not eng.loaded
    monkeypatch.delenv("PAPERLENS_FAKE_AVAILABLE_MB")
    with eng:  # nothing was lost: the same engine loads once memory is there
        assert eng.run(parse_task(), a4_page()).finish == Finish.LENGTH


def test_gpu_request_without_gpu_build_is_a_clear_error(tiny_model_dir):
    from paperlens.core.engine import gpu_offload_supported

    if gpu_offload_supported():
        pytest.skip("this llama-cpp-python build can offload to a GPU")
    from paperlens.core.errors import EngineError

    with pytest.raises(EngineError) as err:
        engine_for(tiny_model_dir, device="gpu").load()
    assert "without GPU support" in str(err.value)
    auto = engine_for(tiny_model_dir, device="auto")
    with auto:
        assert auto.info.device == "cpu"


@pytest.mark.parametrize(
    "size", [(1240, 1754), (1241, 1754), (1240, 1753), (1239, 1755), (1754, 1240), (1755, 1241)]
)
def test_every_a4_page_gets_the_same_slice_grid(engines, size):
    # A4's 1:√2 sits on llama.cpp's tie between the 2x4 and 3x3 grids; a pixel of rounding must not change the cost.
    r = engines["4x"].run(parse_task(), a4_page(size=size), max_tokens=1)
    assert r.stats.image_tokens == 2223 and r.stats.slices == 9


def test_a_large_photo_is_scaled_to_what_the_slicer_uses_without_changing_its_tokens(engines, monkeypatch):
    import paperlens.core.engine.images as engine_module

    photo = a4_page(size=(3024, 4032))
    scaled = engines["4x"].run(parse_task(), photo, max_tokens=1)
    monkeypatch.setattr(engine_module, "fit_slicer", lambda rgb: rgb)
    engines["4x"].forget_pages()
    full = engines["4x"].run(parse_task(), photo, max_tokens=1)
    assert scaled.stats.image_tokens == full.stats.image_tokens == 2520
