"""Building a whole twin (text model and projector, quantized for ``full``) and the on-disk cache of built twins."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from paperlens.dev.synth.projector import write_projector
from paperlens.dev.synth.shapes import Progress, say, shapes_of
from paperlens.dev.synth.text_model import write_text_model

#: Bump whenever the files build_twin writes change, so cached twins are rebuilt.
TWIN_VERSION = 1


@dataclass(frozen=True)
class TwinFiles:
    """The two GGUF files of a twin."""

    text: Path
    projector: Path


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
    shapes_of(size)
    quant = "Q4_K_M" if size == "full" else "F16"
    return (f"MiniCPM-V-4_6-twin-{size}-{quant}.gguf", f"mmproj-MiniCPM-V-4_6-twin-{size}-F16.gguf")


def build_twin(
    out_dir: Path, size: str = "tiny", seed: int = 0, progress: Progress | None = None
) -> TwinFiles:
    """Write a twin's text model and 16x projector into ``out_dir`` (created if needed).

    ``tiny``: F16 text model, a few MB in all, about a second. ``full``: real shapes; the text model is written in F16,
    quantized to Q4_K_M with llama.cpp (about a minute in all on two cores) and the F16 file removed.
    """
    text_shape, vision_shape = shapes_of(size)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text_name, proj_name = twin_file_names(size)
    text_path, proj_path = out_dir / text_name, out_dir / proj_name

    t0 = time.perf_counter()
    if size == "full":
        f16_path = out_dir / text_name.replace("Q4_K_M", "F16")
        try:
            write_text_model(f16_path, text_shape, seed=seed, name=size, progress=progress)
            say(progress, f"text: quantizing to Q4_K_M ({time.perf_counter() - t0:.0f} s so far)")
            _quantize_q4_k_m(f16_path, text_path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                f16_path.unlink()
    else:
        write_text_model(text_path, text_shape, seed=seed, name=size, progress=progress)
    write_projector(proj_path, vision_shape, scale_factor=4, seed=seed, name=size, progress=progress)
    say(progress, f"twin {size!r} built in {time.perf_counter() - t0:.1f} s")
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
    shapes_of(size)
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
