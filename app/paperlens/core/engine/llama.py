"""The one owner of llama.cpp: MiniCPM-V 4.6's text model plus its vision projector.

Why we drive llama.cpp's multimodal API ourselves instead of calling `MTMDChatHandler`:
- the handler encodes the image again on every call, so a follow-up question would cost a whole page again; we keep
  the context state right after the image (recurrent Gated-DeltaNet layers included) and restore it instead;
- the handler loads the projector lazily inside the first chat call; we load it up front in `load()`;
- we need cancel between tokens and between image slices, a repetition guard, and honest per-run figures.

Exactly one thread may use an Engine at a time (the GUI's model worker, or the CLI's main thread). `cancel` events may
be set from any thread.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from PIL import Image

from paperlens.core.engine.contract import ChunkCallback, EngineInfo, VisionEngine
from paperlens.core.engine.guard import RepetitionGuard
from paperlens.core.engine.images import as_rgb, peak_rss_mb, physical_cores, pixels_key
from paperlens.core.engine.llama_log import LLAMA_LOG
from paperlens.core.errors import (
    ContextOverflow,
    EngineError,
    EngineNotLoaded,
    ImageDecodeError,
    ModelInvalid,
    OutOfMemory,
    ProjectorMismatch,
)
from paperlens.core.models import (
    ModelFile,
    ModelSet,
    check_pair,
    inspect_gguf,
    resolve_model_dir,
    scan_model_dir,
)
from paperlens.core.options import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODE,
    DEFAULT_N_CTX,
    DEVICES,
    IMAGE_MODES,
    EngineOptions,
    Mode,
)
from paperlens.core.prompts import Task, build_prompt
from paperlens.core.runs import Finish, RunResult, RunStats

log = logging.getLogger(__name__)


@dataclass
class EngineConfig:
    """How to load and run the model. Defaults are the ones measured best on a 2-core CPU (see README)."""

    # "auto" (the default: 4x or 16x per page), "4x" (dense OCR) or "16x" (4x fewer image tokens, faster)
    mode: str = DEFAULT_MODE
    device: str = "auto"  # "cpu", "gpu" or "auto" (GPU when this llama-cpp-python build can offload)
    gpu_layers: int = -1  # text layers to offload on GPU (-1 = all)
    n_threads: int | None = None  # None: all physical cores
    n_ctx: int = DEFAULT_N_CTX
    n_batch: int = 512
    flash_attn: bool = True  # cuts the 4x image encode on CPU by about a third (MODEL_FACTS)
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = 0.0  # greedy: transcription wants the likeliest text, not variety
    repeat_penalty: float = 1.05
    seed: int = 0
    repetition_guard: bool = True
    suppress_eos: bool = False  # for the synthetic twin: keep runs at max_tokens (benchmarks)
    page_states: int = 3  # encoded pages kept for follow-up questions
    low_memory: bool = False  # use the mode's Q8_0 projector (derived from the full one on first use)

    @classmethod
    def from_options(cls, options: EngineOptions) -> EngineConfig:
        """The user's choices; every machine-tuned knob keeps its measured default."""
        return cls(
            mode=options.mode,
            device=options.device,
            gpu_layers=options.gpu_layers,
            n_threads=options.threads or None,
            n_ctx=options.n_ctx,
            max_tokens=options.max_tokens,
            low_memory=options.low_memory,
        )


@dataclass
class _PageState:
    """The context right after a page's image: restoring it skips the image encode for a follow-up question."""

    data: Any  # numpy uint8 array; None when llama.cpp could not save it whole (then not kept)
    n_tokens: int
    input_ids: list[int]
    image_tokens: int
    slices: int
    prompt_tokens: int


def gpu_offload_supported() -> bool:
    import llama_cpp

    try:
        return bool(llama_cpp.llama_supports_gpu_offload())
    except AttributeError:
        return False


class LlamaEngine(VisionEngine):
    """MiniCPM-V 4.6 through llama.cpp in this process. `load()` once, `run()` tasks on page images, `close()`."""

    def __init__(self, models: ModelSet, config: EngineConfig | None = None) -> None:
        self.models = models
        self.config = config or EngineConfig()
        self.info = EngineInfo()
        # llama-cpp-python's objects and modules, untyped; set by load(), None while not loaded
        self._llama: Any = None
        self._mtmd: Any = None
        self._mtmd_cpp: Any = None
        self._llama_cpp: Any = None
        self._text: ModelFile | None = None
        self._projector: ModelFile | None = None
        self._projector_mode = ""  # the image mode of the projector loaded now (auto mode switches it)
        self._states: OrderedDict[str, _PageState] = OrderedDict()
        self._eog_ids: list[int] | None = None
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._llama is not None and self._mtmd is not None

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def modes(self) -> tuple[str, ...]:
        return IMAGE_MODES if self.config.mode == Mode.AUTO.value else (self.config.mode,)

    @property
    def identity(self) -> str:
        return "+".join(self.identity_for(m) for m in self.modes)

    def identity_for(self, mode: str) -> str:
        return self.models.identity(mode, self.config.low_memory)

    @property
    def context_tokens(self) -> int:
        return self.config.n_ctx

    def count_tokens(self, text: str) -> int:
        if self._llama is None:
            return super().count_tokens(text)
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def preflight(self) -> None:
        """No model at all, or none for this mode: say so before any page is rendered (derives 4x if needed)."""
        for mode in self.modes:
            self.models.require(mode, self.config.low_memory)

    def _resolve_device(self) -> str:
        dev = self.config.device
        if dev not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}")
        if dev == "cpu":
            return "cpu"
        supported = gpu_offload_supported()
        if dev == "gpu" and not supported:
            raise EngineError(
                "This installation of llama-cpp-python was built without GPU support, so it cannot use the GPU.",
                hint="Choose the CPU device, or reinstall llama-cpp-python with CUDA/Metal/Vulkan (see README).",
            )
        return "gpu" if supported else "cpu"

    def load(self) -> None:
        """Load the text model and the projector of the configured mode (in auto mode the 4x one; `_use_mode` switches
        it). Raises our own errors, never llama.cpp's."""
        if self.loaded:
            return
        t0 = time.perf_counter()
        first_mode = self.modes[0]
        text, projector = self.models.require(first_mode, self.config.low_memory)
        self._check_files(text, projector)
        self._check_memory(text, projector)
        device = self._resolve_device()
        import llama_cpp
        import llama_cpp.mtmd_cpp as mtmd_cpp

        self._llama_cpp, self._mtmd_cpp = llama_cpp, mtmd_cpp
        LLAMA_LOG.install(llama_cpp, mtmd_cpp)
        LLAMA_LOG.clear()
        n_threads = self.config.n_threads or physical_cores()
        gpu_layers = (self.config.gpu_layers if self.config.gpu_layers >= 0 else -1) if device == "gpu" else 0
        try:
            llama = llama_cpp.Llama(
                model_path=str(text.path),
                n_ctx=self.config.n_ctx,
                n_batch=self.config.n_batch,
                n_ubatch=self.config.n_batch,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_gpu_layers=gpu_layers,
                flash_attn=self.config.flash_attn,
                seed=self.config.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise self._load_error(text, "text model", exc) from exc
        LLAMA_LOG.install(llama_cpp, mtmd_cpp)  # Llama() installs its own printer; take the log back
        try:
            mtmd = self._open_projector(projector, llama, device, n_threads)
        except BaseException:
            llama.close()
            raise
        self._llama, self._mtmd = llama, mtmd
        self._text, self._projector, self._projector_mode = text, projector, first_mode
        self.info = EngineInfo(
            text_model=text.path.name,
            projector=projector.path.name,
            mode=self.config.mode,
            device=device,
            n_threads=n_threads,
            load_s=time.perf_counter() - t0,
        )
        log.info(
            "engine loaded in %.1fs: %s + %s (%s, %s)",
            self.info.load_s,
            text.path.name,
            projector.path.name,
            self.config.mode,
            device,
        )

    def _open_projector(self, projector: ModelFile, llama: Any, device: str, n_threads: int) -> Any:
        """An mtmd context for `projector` on the loaded text model; our own error when it cannot be made."""
        llama_cpp, mtmd_cpp = self._llama_cpp, self._mtmd_cpp
        try:
            params = mtmd_cpp.mtmd_context_params_default()
            params.use_gpu = device == "gpu"
            params.print_timings = False
            params.n_threads = n_threads
            params.flash_attn_type = (
                llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
                if self.config.flash_attn
                else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
            )
            mtmd = mtmd_cpp.mtmd_init_from_file(str(projector.path).encode(), llama.model, params)
        except Exception as exc:  # the binding raises various types on bad files
            raise self._load_error(projector, "projector", exc) from exc
        if not mtmd:
            raise self._load_error(projector, "projector", None)
        if not mtmd_cpp.mtmd_support_vision(mtmd):
            mtmd_cpp.mtmd_free(mtmd)
            raise ModelInvalid(f"{projector.path.name} is not a vision projector.")
        return mtmd

    def _use_mode(self, mode: str) -> None:
        """Make `mode`'s projector the loaded one (auto mode). One projector is held at a time: a second one would
        add ~0.9 GB to the ~2 GB a loaded model takes, and switching costs about a second (docs/adr/0009)."""
        if mode == self._projector_mode:
            return
        t0 = time.perf_counter()
        text, projector = self.models.require(mode, self.config.low_memory)
        self._check_files(text, projector)
        old, self._mtmd = self._mtmd, None
        if old is not None:
            self._mtmd_cpp.mtmd_free(old)
        try:
            self._mtmd = self._open_projector(projector, self._llama, self.info.device, self.info.n_threads)
        except BaseException:
            # no projector now: free the text model too, so that `load()` starts again from nothing
            self._states.clear()
            self._llama.close()
            self._llama = None
            self._projector_mode = ""
            raise
        self._projector, self._projector_mode = projector, mode
        self.info.projector = projector.path.name
        log.info(
            "projector switched to %s (%s) in %.2fs", mode, projector.path.name, time.perf_counter() - t0
        )

    def _check_files(self, text: ModelFile, projector: ModelFile) -> None:
        # Files can change on disk after the folder was scanned (a download finishing, a copy cut short).
        for f, what in ((text, "text model"), (projector, "projector")):
            fresh = inspect_gguf(f.path)
            if fresh.problem:
                raise ModelInvalid(f"The {what} {f.path.name} cannot be used: {fresh.problem}.")
        check_pair(text, projector)

    def _check_memory(self, text: ModelFile, projector: ModelFile) -> None:
        """Refuse early, with a sentence, when the machine clearly lacks the memory (instead of being killed)."""
        import psutil

        need = text.size + projector.size + 600 * 2**20  # weights + context, compute buffers and image work
        avail = psutil.virtual_memory().available
        if os.environ.get("PAPERLENS_FAKE_AVAILABLE_MB"):  # lets tests show the refusal without eating memory
            avail = int(os.environ["PAPERLENS_FAKE_AVAILABLE_MB"]) * 2**20
        if avail < need:
            raise OutOfMemory(
                f"Not enough free memory to load the model: it needs about {need / 2**30:.1f} GB, "
                f"{avail / 2**30:.1f} GB is free.",
                hint="Close other programs, or use the 16x mode and a smaller quantization.",
            )

    def _load_error(self, f: ModelFile, what: str, exc: Exception | None) -> Exception:
        if LLAMA_LOG.mentions(
            "failed to allocate", "out of memory", "cudamalloc failed", "unable to allocate"
        ):
            return OutOfMemory(
                f"Not enough memory to load the {what} {f.path.name}.",
                hint="Close other programs, lower the GPU layers, or use the CPU.",
            )
        if what == "projector" and LLAMA_LOG.mentions("mismatch", "n_embd", "embedding"):
            return ProjectorMismatch(f"The projector {f.path.name} does not fit the text model.")
        detail = next(
            (
                line
                for line in reversed(LLAMA_LOG.recent)
                if "error" in line.lower() or "fail" in line.lower()
            ),
            "",
        )
        reason = f" ({detail.strip()})" if detail else ""
        return ModelInvalid(
            f"llama.cpp could not load the {what} {f.path.name}{reason}.",
            hint="The file may be corrupt or from another model; download the official files again.",
        )

    def close(self) -> None:
        """Free the model and projector now (not at interpreter exit, where llama.cpp's destructors misbehave)."""
        with self._lock:
            self._states.clear()
            if self._mtmd is not None and self._mtmd_cpp is not None:
                self._mtmd_cpp.mtmd_free(self._mtmd)
            self._mtmd = None
            self._projector_mode = ""
            if self._llama is not None:
                self._llama.close()
            self._llama = None

    def forget_pages(self) -> None:
        """Drop the saved page states (memory), e.g. when documents are closed."""
        self._states.clear()

    # -- running -------------------------------------------------------------------------------------------------------
    def run(
        self,
        task: Task,
        image: Image.Image | None = None,
        *,
        on_chunk: ChunkCallback | None = None,
        cancel: threading.Event | None = None,
        max_tokens: int | None = None,
        page_key: str | None = None,
        mode: str | None = None,
    ) -> RunResult:
        """Run a task, streaming text pieces to `on_chunk`. Cancel keeps the partial text (finish = cancelled).

        `page_key` identifies the image for reusing its encoded state (defaults to a hash of the pixels). `mode`: see
        the contract; in auto mode the projector is switched when the page needs the other one.
        """
        if not self.loaded:
            raise EngineNotLoaded("The model is not loaded yet.")
        if mode is not None and mode not in self.modes:
            raise ValueError(f"this engine reads pages in {', '.join(self.modes)}, not {mode!r}")
        with self._lock:
            return self._run(task, image, on_chunk, cancel, max_tokens, page_key, mode)

    def _page_mode(self, mode: str | None, rgb: Image.Image, page_key: str) -> str:
        """The image mode of this run: the one asked for; else the only one; else (auto) the mode the page's kept
        state was encoded in (a follow-up question reuses it), else the page's density decides."""
        if mode is not None:
            return mode
        if len(self.modes) == 1:
            return self.modes[0]
        kept = [m for m in self.modes if f"{m}:{page_key}" in self._states]
        if kept:
            return kept[0]
        from paperlens.core.density import choose_mode

        return choose_mode(rgb)

    def _run(self, task, image, on_chunk, cancel, max_tokens, page_key, mode=None) -> RunResult:
        llama = self._llama
        t_start = time.perf_counter()
        parts = build_prompt(task)
        stats = RunStats()
        max_tokens = max_tokens or task.max_tokens or self.config.max_tokens
        cancel = cancel or threading.Event()

        if parts.image:
            if image is None:
                raise ImageDecodeError("This task needs a page image, and none was given.")
            rgb = as_rgb(image)
            page_key = page_key or pixels_key(rgb)
            stats.mode = self._page_mode(mode, rgb, page_key)
            key = f"{stats.mode}:{page_key}"
            state = self._states.get(key)
            if state is not None and self._restore(key, state):
                self._states.move_to_end(key)
                stats.image_reused = True
            else:
                self._use_mode(stats.mode)
                llama = self._llama
                t_enc = time.perf_counter()
                state = self._encode_page(rgb, parts.before, cancel)
                if state is None:  # cancelled while encoding: nothing generated yet
                    stats.wall_s = time.perf_counter() - t_start
                    stats.peak_rss_mb = peak_rss_mb()
                    return RunResult(text="", finish=Finish.CANCELLED, stats=stats)
                stats.encode_s = time.perf_counter() - t_enc
                self._remember(key, state)
            stats.image_tokens = state.image_tokens
            stats.slices = state.slices
            prefix_tokens = state.prompt_tokens
        else:
            llama.reset()
            prefix_tokens = 0
        after_text = parts.after if parts.image else parts.before + parts.after
        after = llama.tokenize(after_text.encode("utf-8"), add_bos=False, special=True) if after_text else []
        stats.prompt_tokens = prefix_tokens + len(after)
        room = llama.n_ctx() - llama.n_tokens - len(after)
        if room < 16:
            raise ContextOverflow(
                f"The prompt needs {llama.n_tokens + len(after)} tokens but the context holds {llama.n_ctx()}.",
                hint="Shorten the question or the document text, or raise the context size in the settings.",
            )
        max_tokens = min(max_tokens, room)
        if after:
            self._eval_text(after, cancel)
        if cancel.is_set():
            stats.wall_s = time.perf_counter() - t_start
            stats.peak_rss_mb = peak_rss_mb()
            return RunResult(text="", finish=Finish.CANCELLED, stats=stats)
        text, finish = self._generate(max_tokens, on_chunk, cancel, stats, t_start)
        stats.wall_s = time.perf_counter() - t_start
        stats.peak_rss_mb = peak_rss_mb()
        return RunResult(text=text, finish=finish, stats=stats)

    def _encode_page(self, rgb: Image.Image, before: str, cancel: threading.Event) -> _PageState | None:
        """Tokenize `before` + the image with llama.cpp's slicer, evaluate it, and snapshot the context."""
        llama, mtmd_cpp, llama_cpp = self._llama, self._mtmd_cpp, self._llama_cpp
        data = rgb.tobytes()
        # llama.cpp copies the pixels itself: point it at the bytes instead of making a ctypes copy first
        pixels = ctypes.cast(ctypes.c_char_p(data), ctypes.POINTER(ctypes.c_uint8))
        bitmap = mtmd_cpp.mtmd_bitmap_init(rgb.width, rgb.height, pixels)
        if not bitmap:
            raise ImageDecodeError("llama.cpp could not take this page image.")
        chunks = mtmd_cpp.mtmd_input_chunks_init()
        try:
            text = (before + mtmd_cpp.mtmd_default_marker().decode()).encode("utf-8")
            inp = mtmd_cpp.mtmd_input_text()
            inp.text = text
            inp.text_len = len(text)
            inp.add_special = True
            inp.parse_special = True
            bitmaps = (mtmd_cpp.mtmd_bitmap_p_ctypes * 1)(bitmap)
            rc = mtmd_cpp.mtmd_tokenize(self._mtmd, chunks, ctypes.byref(inp), bitmaps, 1)
            if rc != 0:
                raise ImageDecodeError(f"llama.cpp could not slice this page image (error {rc}).")
            n_chunks = mtmd_cpp.mtmd_input_chunks_size(chunks)
            total = sum(
                mtmd_cpp.mtmd_input_chunk_get_n_tokens(mtmd_cpp.mtmd_input_chunks_get(chunks, i))
                for i in range(n_chunks)
            )
            if total + 32 > llama.n_ctx():
                raise ContextOverflow(
                    f"This page needs {total} tokens in {self.config.mode} mode, more than the context "
                    f"of {llama.n_ctx()} holds.",
                    hint="Raise the context size in the settings, or use the 16x mode.",
                )
            llama.reset()
            image_tokens = slices = 0
            for i in range(n_chunks):
                if cancel.is_set():
                    llama.reset()
                    return None
                chunk = mtmd_cpp.mtmd_input_chunks_get(chunks, i)
                kind = mtmd_cpp.mtmd_input_chunk_get_type(chunk)
                if kind == mtmd_cpp.MTMD_INPUT_CHUNK_TYPE_TEXT:
                    n = ctypes.c_size_t()
                    ptr = mtmd_cpp.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                    tokens = [ptr[j] for j in range(n.value)]
                    if tokens:
                        self._eval_text(tokens, cancel)
                else:
                    n_tok = mtmd_cpp.mtmd_input_chunk_get_n_tokens(chunk)
                    new_n_past = llama_cpp.llama_pos(0)
                    rc = mtmd_cpp.mtmd_helper_eval_chunk_single(
                        self._mtmd,
                        llama._ctx.ctx,
                        chunk,
                        llama_cpp.llama_pos(llama.n_tokens),
                        llama_cpp.llama_seq_id(0),
                        llama.n_batch,
                        False,
                        ctypes.byref(new_n_past),
                    )
                    if rc != 0:
                        if LLAMA_LOG.mentions("failed to allocate", "out of memory"):
                            raise OutOfMemory("Not enough memory to encode this page image.")
                        raise EngineError(f"llama.cpp failed to encode the page image (error {rc}).")
                    llama.n_tokens = new_n_past.value
                    image_tokens += n_tok
                    slices += 1
            if cancel.is_set():  # cancelled during the last chunk: its text may be half evaluated
                llama.reset()
                return None
            try:
                saved = self._snapshot()
            except EngineError as exc:  # the page is encoded all the same: answer it, just keep no state
                log.warning("%s", exc)
                saved = None
            return _PageState(
                data=saved,
                n_tokens=llama.n_tokens,
                input_ids=llama.input_ids[: llama.n_tokens].tolist(),
                image_tokens=image_tokens,
                slices=slices,
                prompt_tokens=total,
            )
        finally:
            mtmd_cpp.mtmd_input_chunks_free(chunks)
            mtmd_cpp.mtmd_bitmap_free(bitmap)

    def _eval_text(self, tokens: list[int], cancel: threading.Event) -> None:
        llama = self._llama
        step = llama.n_batch
        for i in range(0, len(tokens), step):
            if cancel.is_set():
                return
            llama.eval(tokens[i : i + step])

    def _snapshot(self):
        """The context's state (KV cache + recurrent state) in a numpy buffer llama.cpp fills itself.

        A full-size 4x page state is about 48 MB: zero-filling or copying it in Python would hold the GIL for tens of
        milliseconds and stall the window; ctypes releases the GIL while llama.cpp copies.
        """
        import numpy as np

        llama_cpp, ctx = self._llama_cpp, self._llama._ctx.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buf = np.empty(size, dtype=np.uint8)
        n = llama_cpp.llama_state_get_data(ctx, buf.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), size)
        if size <= 0 or n != size:  # a short or empty copy would restore a page the model never saw
            raise EngineError(f"llama.cpp saved {n} of {size} bytes of the page state; it is not kept.")
        return buf

    def _restore(self, key: str, state: _PageState) -> bool:
        """Puts a saved page state back; False (and the state forgotten) when llama.cpp refuses it, so that the
        caller encodes the page again instead of failing."""
        llama, llama_cpp = self._llama, self._llama_cpp
        data = state.data
        ptr = data.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        if llama_cpp.llama_state_set_data(llama._ctx.ctx, ptr, data.size) != data.size:
            log.warning("llama.cpp refused the saved state of a page; encoding the page again")
            self._states.pop(key, None)
            llama.reset()
            return False
        llama.input_ids[: state.n_tokens] = state.input_ids
        llama.n_tokens = state.n_tokens
        return True

    def _remember(self, key: str, state: _PageState) -> None:
        if state.data is None:  # no usable snapshot (see _snapshot): nothing to keep
            self._states.pop(key, None)
            return
        self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > max(0, self.config.page_states):
            self._states.popitem(last=False)

    def _sampler(self):
        """llama.cpp's own sampler chain: no Python work per token over the 248k-token vocabulary."""
        from llama_cpp._internals import LlamaSampler

        cfg, llama = self.config, self._llama
        sampler = LlamaSampler()
        if cfg.suppress_eos:
            if self._eog_ids is None:
                vocab = self._llama_cpp.llama_model_get_vocab(llama.model)
                self._eog_ids = [
                    t for t in range(llama.n_vocab()) if self._llama_cpp.llama_vocab_is_eog(vocab, t)
                ]
            sampler.add_logit_bias(llama.n_vocab(), {t: float("-inf") for t in self._eog_ids})
        if cfg.repeat_penalty != 1.0:
            sampler.add_penalties(llama.n_vocab(), 64, cfg.repeat_penalty, 0.0, 0.0)
        if cfg.temperature <= 0:
            sampler.add_greedy()
        else:
            sampler.add_top_k(40)
            sampler.add_top_p(0.95, 1)
            sampler.add_min_p(0.05, 1)
            sampler.add_temp(cfg.temperature)
            sampler.add_dist(cfg.seed)
        return sampler

    def _generate(self, max_tokens, on_chunk, cancel, stats: RunStats, t_start: float) -> tuple[str, Finish]:
        llama, llama_cpp = self._llama, self._llama_cpp
        vocab = llama_cpp.llama_model_get_vocab(llama.model)
        sampler = self._sampler()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        tokens: list[int] = []
        guard = RepetitionGuard() if self.config.repetition_guard else None
        finish = Finish.LENGTH
        t_first = t_last = None
        try:
            while True:
                if cancel.is_set():
                    finish = Finish.CANCELLED
                    break
                token = sampler.sample(llama._ctx, -1)  # samples from the last logits and accepts the token
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    finish = Finish.STOP
                    break
                now = time.perf_counter()
                if t_first is None:
                    t_first = now
                    stats.ttft_s = now - t_start
                t_last = now
                tokens.append(token)
                piece = decoder.decode(llama.detokenize([token], special=False))
                if piece:
                    pieces.append(piece)
                    if on_chunk is not None:
                        on_chunk(piece)
                if guard is not None and len(tokens) % 8 == 0:
                    cut = guard.loop_start(tokens)
                    if cut is not None:
                        finish = Finish.REPETITION
                        tokens = tokens[:cut]
                        pieces = [llama.detokenize(tokens, special=False).decode("utf-8", "replace")]
                        break
                if len(tokens) >= max_tokens:
                    break
                if cancel.is_set():
                    finish = Finish.CANCELLED
                    break
                llama.eval([token])
        finally:
            sampler.close()
        tail = decoder.decode(b"", final=True)
        if tail and finish != Finish.REPETITION:
            pieces.append(tail)
            if on_chunk is not None:
                on_chunk(tail)
        stats.generated_tokens = len(tokens)
        if t_first is not None and t_last is not None and len(tokens) > 1 and t_last > t_first:
            stats.decode_tokens_per_s = (len(tokens) - 1) / (t_last - t_first)
        if t_first is None:
            stats.ttft_s = time.perf_counter() - t_start
        return "".join(pieces), finish


def local_engine(options: EngineOptions) -> LlamaEngine:
    """Build (not load) the local engine: scan the model folder the options name, keep the user's choices."""
    models = scan_model_dir(resolve_model_dir(options.model_dir or None))
    return LlamaEngine(models, EngineConfig.from_options(options))
