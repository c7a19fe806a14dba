"""Finding MiniCPM-V 4.6 on disk, by what the GGUF files say they are, never by their names.

Hosts name the same files differently (`MiniCPM-V-4_6-Q4_K_M.gguf`, `MiniCPM-V-4.6-Q4_K_M.gguf`,
`mmproj-model-f16.gguf`, ...), so every `.gguf` in the model folder is opened and its metadata read: the text model is
architecture `qwen35`, the projector is a `clip` file of projector type `minicpmv4_6`, and the projector's
`clip.vision.projector.scale_factor` says its mode (4 = 16x, the official file; 2 = 4x, which we derive ourselves).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperlens.core.errors import DownloadCancelled, ModelInvalid, ModelNotFound, ProjectorMismatch
from paperlens.core.options import IMAGE_MODES
from paperlens.core.tempfiles import remove_stale, sync_folder

log = logging.getLogger(__name__)

TEXT_ARCH = "qwen35"
PROJECTOR_TYPE = "minicpmv4_6"
SCALE_KEY = "clip.vision.projector.scale_factor"
MERGER_PREFIX = "v.vit_merger."
MODE_BY_SCALE = {4: "16x", 2: "4x"}

OFFICIAL_REPO = "openbmb/MiniCPM-V-4.6-gguf"
OFFICIAL_URL = f"https://huggingface.co/{OFFICIAL_REPO}"
OFFICIAL_TEXT_FILE = "MiniCPM-V-4.6-Q4_K_M.gguf"
OFFICIAL_PROJECTOR_FILE = "mmproj-model-f16.gguf"
ENV_MODEL_DIR = "PAPERLENS_MODEL_DIR"


def default_model_dir() -> Path:
    """`PAPERLENS_MODEL_DIR` if set, else the per-user data folder (e.g. ~/.local/share/PaperLens/models)."""
    env = os.environ.get(ENV_MODEL_DIR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("PaperLens", appauthor=False)) / "models"


def resolve_model_dir(explicit: str | os.PathLike | None = None, setting: str | None = None) -> Path:
    """The folder to use, by precedence: an explicit flag, the folder chosen in the window, the environment, default.

    A folder the user picked (flag or Choose Folder) always wins over `PAPERLENS_MODEL_DIR`, which is a default.
    """
    chosen = explicit or setting
    if chosen:
        return Path(chosen).expanduser()
    return default_model_dir()


def _whole_number(value: object) -> int | None:
    """A metadata value that must be a plain integer; anything else (an array, a string, a float) counts as absent,
    so one odd file is reported as unusable instead of breaking the scan of the whole folder."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class ModelFile:
    """One `.gguf` file and what its metadata says."""

    path: Path
    size: int
    kind: str  # "text", "projector" or "other"
    arch: str = ""
    name: str = ""
    quantization: str = ""
    projector_type: str = ""
    scale_factor: int | None = None
    embedding_length: int | None = None  # text: hidden size; projector: projection dim (must match)
    has_merger: bool = False
    problem: str = ""  # why this file cannot be used, in a sentence
    variant: str = ""  # "thinking" for MiniCPM-V 4.6 Thinking

    @property
    def mode(self) -> str | None:
        return MODE_BY_SCALE.get(self.scale_factor or 0) if self.kind == "projector" else None

    @property
    def usable(self) -> bool:
        return not self.problem and self.kind in ("text", "projector")

    def describe(self) -> str:
        size_mb = self.size / 1e6
        if self.kind == "text":
            what = f"text model ({self.arch}, {self.quantization or 'unknown quantization'})"
        elif self.kind == "projector":
            what = f"projector ({self.projector_type}, {self.mode or '?'} mode, {self.quantization or '?'})"
        else:
            what = f"not a MiniCPM-V 4.6 file ({self.arch or 'unknown'})"
        text = f"{self.path.name}: {what}, {size_mb:,.0f} MB"
        return f"{text} - {self.problem}" if self.problem else text


THINKING_PROBLEM = (
    "this is MiniCPM-V 4.6 Thinking, the reasoning variant (it thinks aloud before it answers); PaperLens uses the "
    f"instruct model from {OFFICIAL_REPO}, which writes the page directly"
)
_NAME_KEYS = (
    "general.name",
    "general.basename",
    "general.finetune",
    "general.repo_url",
    "general.source.repo_url",
    "general.source.huggingface.repository",
    "general.base_model.0.repo_url",
)


def is_thinking_model(kv: dict) -> bool:
    """The Thinking model has the same architecture as the instruct one; only its names say which it is
    (`general.name` "MiniCPM-V-4.6-Thinking", its finetune, or its source repository)."""
    return any("thinking" in str(kv.get(k) or "").lower() for k in _NAME_KEYS)


def _field_value(reader, key: str):
    """A metadata value from a `gguf.GGUFReader` (used where whole files are copied)."""
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def _quant_name(file_type) -> str:
    if file_type is None:
        return ""
    try:
        import gguf

        name = gguf.LlamaFileType(int(file_type)).name
        return name.replace("MOSTLY_", "").replace("ALL_", "")
    except (ValueError, ImportError):
        return f"type {file_type}"


def inspect_gguf(path: str | os.PathLike) -> ModelFile:
    """Read a file's GGUF metadata. Never raises for a bad file: the problem is recorded in `.problem`."""
    from paperlens.core.gguf_meta import GGUFFormatError, read_header

    path = Path(path)
    size = path.stat().st_size
    try:
        header = read_header(path)
    except (GGUFFormatError, OSError, KeyError, ValueError) as exc:  # truncated, not GGUF, unreadable
        log.debug("cannot read %s: %s", path, exc)
        return ModelFile(
            path=path,
            size=size,
            kind="other",
            problem="the file is not a complete GGUF file (truncated or corrupt); download it again",
        )
    kv = header.kv
    arch = str(kv.get("general.architecture") or "")
    info = ModelFile(
        path=path,
        size=size,
        kind="other",
        arch=arch,
        name=str(kv.get("general.name") or ""),
        quantization=_quant_name(kv.get("general.file_type")),
    )
    if arch == "clip":
        info.projector_type = str(kv.get("clip.projector_type") or "")
        info.scale_factor = _whole_number(kv.get(SCALE_KEY))
        info.embedding_length = _whole_number(kv.get("clip.vision.projection_dim"))
        info.has_merger = any(t.name.startswith(MERGER_PREFIX) for t in header.tensors)
        if info.projector_type == PROJECTOR_TYPE:
            info.kind = "projector"
            if info.scale_factor is None:
                info.scale_factor = 4  # llama.cpp's default for this projector type
            if info.scale_factor not in MODE_BY_SCALE:
                info.problem = f"unknown scale factor {info.scale_factor}"
            elif info.scale_factor == 4 and not info.has_merger:
                info.problem = "16x projector without its ViT-merger tensors (incomplete file)"
        else:
            info.problem = f"a projector of another model ({info.projector_type or 'unknown type'})"
    elif arch == TEXT_ARCH:
        info.kind = "text"
        info.embedding_length = _whole_number(kv.get(f"{TEXT_ARCH}.embedding_length"))
        if is_thinking_model(kv):
            info.variant = "thinking"
            info.problem = THINKING_PROBLEM
    elif arch:
        info.problem = f"a text model of another architecture ({arch}), not MiniCPM-V 4.6"
    else:
        info.problem = "a GGUF file without an architecture"
    # A file cut short still has its header; its tensors then point past the end of the file.
    if not info.problem:
        try:
            if header.data_end() > size:
                info.problem = (
                    "the file is truncated (its tensors end past the end of the file); download it again"
                )
        except (KeyError, ValueError):
            info.problem = "the file has tensors of an unknown type (corrupt, or made by a newer llama.cpp)"
    return info


@dataclass
class ModelSet:
    """What was found in a model folder: the text model, the projector per mode, and everything else."""

    folder: Path
    text: ModelFile | None = None
    projectors: dict[str, ModelFile] = field(default_factory=dict)  # mode -> file
    files: list[ModelFile] = field(default_factory=list)
    compact: dict[str, ModelFile] = field(default_factory=dict)  # mode -> Q8_0 projector (Low memory)

    @property
    def complete(self) -> bool:
        return self.text is not None and bool(self.projectors)

    def projector(self, mode: str) -> ModelFile | None:
        return self.projectors.get(mode)

    def identity(self, mode: str, low_memory: bool = False) -> str:
        """A stable id of the model files behind a mode, for keying cached results."""
        if low_memory:  # the Q8_0 copy is derived on first use: its id must not change when it appears
            return f"{self.identity(mode)}|q8_0"
        proj = self.projectors.get(mode) or self.projectors.get("16x")
        parts = [self.text, proj]
        return "|".join(f"{p.path.name}:{p.size}" for p in parts if p is not None)

    def require(self, mode: str, low_memory: bool = False) -> tuple[ModelFile, ModelFile]:
        """The (text, projector) pair for a mode, deriving the 4x projector on first use; a clear error otherwise.

        `low_memory`: the mode's Q8_0 projector, derived (once) from the full one when missing.
        """
        text, proj = self._require(mode)
        if not low_memory:
            return text, proj
        compact = self.compact.get(mode)
        if compact is None:
            compact = derive_q8_projector(proj)
            self.compact[mode] = compact
            self.files.append(compact)
        check_pair(text, compact)
        return text, compact

    def _require(self, mode: str) -> tuple[ModelFile, ModelFile]:
        if mode not in IMAGE_MODES:
            raise ValueError(f"mode must be one of {IMAGE_MODES}, not {mode!r}")
        if self.text is None or not self.projectors:
            raise ModelNotFound(missing_models_message(self))
        proj = self.projectors.get(mode)
        if proj is None and mode == "4x":
            proj = derive_4x_projector(self.projectors["16x"])
            self.projectors["4x"] = proj
            self.files.append(proj)
        if proj is None:
            raise ModelNotFound(
                f"No {mode} projector in {self.folder}. Put the official {OFFICIAL_PROJECTOR_FILE} from "
                f"{OFFICIAL_URL} there; PaperLens derives the 4x one from it."
            )
        check_pair(self.text, proj)
        return self.text, proj


def check_pair(text: ModelFile, projector: ModelFile) -> None:
    """Refuse a projector that belongs to another text model (its output size differs from the text model's)."""
    if (
        text.embedding_length
        and projector.embedding_length
        and text.embedding_length != projector.embedding_length
    ):
        raise ProjectorMismatch(
            f"The projector {projector.path.name} does not belong to the text model {text.path.name} "
            f"(it produces {projector.embedding_length}-wide embeddings, the model reads {text.embedding_length}).",
            hint=f"Use the text model and mmproj file published together at {OFFICIAL_URL}.",
        )


def missing_models_message(found: ModelSet) -> str:
    need = []
    if found.text is None:
        need.append(f"the text model (for example {OFFICIAL_TEXT_FILE}, about 0.5 GB)")
    if not found.projectors:
        need.append(f"the vision projector ({OFFICIAL_PROJECTOR_FILE}, about 1.1 GB)")
    bad = [f.describe() for f in found.files if f.problem]
    msg = (
        f"No complete MiniCPM-V 4.6 model in {found.folder}: PaperLens needs {' and '.join(need)}. "
        f"Download them from {OFFICIAL_URL} and put them in that folder (any file names work)."
    )
    if bad:
        msg += " Files there that cannot be used: " + "; ".join(bad) + "."
    return msg


def scan_model_dir(folder: str | os.PathLike) -> ModelSet:
    """Inspect every .gguf in `folder` (not recursive) and pick the best text model and projectors."""
    folder = Path(folder).expanduser()
    found = ModelSet(folder=folder)
    if not folder.is_dir():
        return found
    remove_stale(folder, STALE_TEMP)
    remove_stale(folder, OLD_STALE_TEMP)
    for path in sorted(folder.glob("*.gguf")):
        if path.name.startswith(".") or ".tmp" in path.name:
            continue
        try:
            found.files.append(inspect_gguf(path))
        except OSError as exc:
            found.files.append(
                ModelFile(path=path, size=0, kind="other", problem=f"cannot be read ({exc.strerror})")
            )
    texts = [f for f in found.files if f.kind == "text" and f.usable]
    # Prefer Q4_K_M (the official default), then the smallest file, for a predictable choice.
    texts.sort(key=lambda f: (f.quantization != "Q4_K_M", f.size))
    if texts:
        found.text = texts[0]
    # Full-precision projectors first: a Q8_0 one is the Low-memory choice, used only when that setting is on.
    for f in sorted(found.files, key=lambda f: f.quantization == "Q8_0"):
        if f.kind != "projector" or not f.usable or f.mode is None:
            continue
        if found.text and found.text.embedding_length and f.embedding_length != found.text.embedding_length:
            continue
        if f.quantization == "Q8_0":
            found.compact.setdefault(f.mode, f)
        found.projectors.setdefault(f.mode, f)
    if found.text is None or found.projectors:
        return found
    # Projectors exist but none matches the text model: keep one so require() can say why.
    for f in found.files:
        if f.kind == "projector" and f.usable and f.mode is not None:
            found.projectors.setdefault(f.mode, f)
    return found


def derived_4x_path(projector_16x: Path) -> Path:
    return projector_16x.with_name(f"{projector_16x.stem}.paperlens-4x.gguf")


def derived_q8_path(projector: Path) -> Path:
    return projector.with_name(f"{projector.stem}.paperlens-q8_0.gguf")


ByteProgress = Callable[[int, int], None]  # (bytes written, bytes in all)

# `.paperlens-<writer's pid>-<mkstemp's 8 characters>.gguf.tmp`: removed by the next scan or derivation once that
# process is gone (a derivation killed mid-write leaves up to 0.9 GB there).
STALE_TEMP = re.compile(r"\.paperlens-(?P<pid>\d+)-[A-Za-z0-9_]{8}\.gguf\.tmp")
# the name earlier versions used (no pid): removed once untouched for a day
OLD_STALE_TEMP = re.compile(r"\.[a-z0-9_]{8}\.gguf\.tmp")


def _rewrite_gguf(
    source: Path,
    target: Path,
    *,
    set_kv: dict[str, tuple[Any, Any]],
    keep_tensor: Callable[[str], bool],
    convert: Callable[[Any], tuple[Any, Any]] | None = None,
    progress: ByteProgress | None = None,
    cancel: threading.Event | None = None,
    hint: str = "",
) -> None:
    """Copy a GGUF file with some metadata replaced and some tensors left out or converted, atomically.

    Written to a hidden temporary name in the target's folder (which the model scan skips), flushed to disk and
    renamed into place, so a crash never leaves a half file that a later scan would pick up. The temporary name carries
    our process id: one left by a killed derivation is removed by the next one (or the next scan of the folder).
    `convert(tensor)` returns (data, ggml type) for a tensor to store differently.
    """
    import gguf

    reader = gguf.GGUFReader(source, "r")
    arch = _field_value(reader, "general.architecture") or "clip"
    remove_stale(target.parent, STALE_TEMP)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".paperlens-{os.getpid()}-", suffix=".gguf.tmp", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer = gguf.GGUFWriter(tmp, arch, use_temp_file=False)
        for key, fld in reader.fields.items():
            if key.startswith("GGUF.") or key == "general.architecture" or key in set_kv:
                continue
            value_type = fld.types[0]
            if key == "general.alignment":
                writer.data_alignment = int(_field_value(reader, key))
            sub_type = fld.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(key, fld.contents(), value_type, sub_type=sub_type)
        for key, (new_value, new_type) in set_kv.items():
            writer.add_key_value(key, new_value, new_type)
        for t in reader.tensors:
            if not keep_tensor(t.name):
                continue
            data, dtype = convert(t) if convert else (t.data, t.tensor_type)
            writer.add_tensor(t.name, data, raw_shape=data.shape, raw_dtype=dtype)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        # writer.write_tensors_to_file() with a progress callback and a cancel check between tensors
        writer.write_ti_data_to_file()
        assert writer.fout is not None
        fout = writer.fout[0]
        writer.write_padding(fout, fout.tell())
        infos = list(writer.tensors[0].values())
        total, done = sum(ti.nbytes for ti in infos), 0
        for ti in infos:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(
                    "Stopped while writing the derived projector; it is made again next time."
                )
            assert ti.tensor is not None
            ti.tensor.tofile(fout)
            writer.write_padding(fout, ti.nbytes)
            ti.tensor = None
            done += ti.nbytes
            if progress:
                progress(done, total)
        fout.flush()
        os.fsync(fout.fileno())
        writer.close()
        del reader
        os.chmod(tmp, source.stat().st_mode & 0o777)  # mkstemp makes 0600; match the official file
        os.replace(tmp, target)
        sync_folder(target.parent)  # the rename itself survives a power cut
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ModelInvalid(
            f"Could not write {target.name} next to {source.name} ({exc.strerror or exc}).", hint=hint
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def derive_4x_projector(
    source: ModelFile,
    target: Path | None = None,
    *,
    progress: ByteProgress | None = None,
    cancel: threading.Event | None = None,
) -> ModelFile:
    """Write the 4x projector from the official 16x one, as llama.cpp's converter does with downsample_mode=4x.

    Same metadata except `clip.vision.projector.scale_factor = 2`; the `v.vit_merger.*` tensors are left out (in 4x
    mode llama.cpp skips the ViT merger, so they would only waste memory).
    """
    import gguf

    if source.scale_factor != 4:
        raise ModelInvalid(f"{source.path.name} is not a 16x projector; cannot derive a 4x one from it.")
    target = Path(target) if target else derived_4x_path(source.path)
    if target.exists():
        existing = inspect_gguf(target)
        if existing.usable and existing.scale_factor == 2:
            return existing
    _rewrite_gguf(
        source.path,
        target,
        set_kv={SCALE_KEY: (2, gguf.GGUFValueType.UINT32)},
        keep_tensor=lambda name: not name.startswith(MERGER_PREFIX),
        progress=progress,
        cancel=cancel,
        hint="Make the model folder writable, or free some disk space (it needs about 0.9 GB).",
    )
    derived = inspect_gguf(target)
    log.info("derived 4x projector %s from %s", target.name, source.path.name)
    return derived


def _q8_convertible(t: Any) -> bool:
    """A 2-D weight matrix in a float type whose rows split into Q8_0 blocks of 32: what llama.cpp's converter
    quantizes for `--outtype q8_0`. Embedding tables (position, patch) stay as they are, as the converter keeps them."""
    import gguf

    float_types = (
        gguf.GGMLQuantizationType.F16,
        gguf.GGMLQuantizationType.F32,
        gguf.GGMLQuantizationType.BF16,
    )
    return (
        t.tensor_type in float_types
        and len(t.shape) == 2
        and t.name.endswith(".weight")
        and "embd" not in t.name
        and int(t.shape[0]) % 32 == 0
    )


def derive_q8_projector(
    source: ModelFile,
    target: Path | None = None,
    *,
    progress: ByteProgress | None = None,
    cancel: threading.Event | None = None,
) -> ModelFile:
    """Write a low-memory copy of a projector: 2-D weight matrices as Q8_0, everything else unchanged.

    About half the projector's memory (llama.cpp reads the projector into RAM); costs a few per cent of encode time.
    Written once, atomically, next to the source; found again by its metadata (`general.file_type` = Q8_0).
    """
    import gguf
    import numpy as np

    if source.kind != "projector" or not source.usable:
        raise ModelInvalid(f"{source.path.name} is not a usable projector; cannot make a low-memory copy.")
    if source.quantization == "Q8_0":
        return source
    target = Path(target) if target else derived_q8_path(source.path)
    if target.exists():
        existing = inspect_gguf(target)
        if (
            existing.usable
            and existing.quantization == "Q8_0"
            and existing.scale_factor == source.scale_factor
        ):
            return existing
    q8 = gguf.GGMLQuantizationType.Q8_0

    def convert(t: Any) -> tuple[Any, Any]:
        if not _q8_convertible(t):
            return t.data, t.tensor_type
        if t.tensor_type == gguf.GGMLQuantizationType.BF16:
            data = gguf.quants.dequantize(t.data, t.tensor_type)
        else:
            data = np.asarray(t.data, dtype=np.float32)
        return gguf.quants.quantize(data, q8), q8

    _rewrite_gguf(
        source.path,
        target,
        set_kv={"general.file_type": (int(gguf.LlamaFileType.MOSTLY_Q8_0), gguf.GGUFValueType.UINT32)},
        keep_tensor=lambda name: True,
        convert=convert,
        progress=progress,
        cancel=cancel,
        hint="Make the model folder writable, or free some disk space (it needs about 0.6 GB).",
    )
    derived = inspect_gguf(target)
    log.info("derived Q8_0 projector %s from %s", target.name, source.path.name)
    return derived


def removable_files(found: ModelSet) -> dict[str, str]:
    """File name -> why it can be deleted without losing anything PaperLens needs (or cannot make again)."""
    used = {id(f) for f in (found.text, *found.projectors.values()) if f is not None}
    out: dict[str, str] = {}
    for f in found.files:
        derived = ".paperlens-" in f.path.name
        if f.problem:
            out[f.path.name] = f"PaperLens cannot use it ({f.problem})"
        elif f.kind == "text" and id(f) not in used:
            out[f.path.name] = f"another text model ({f.quantization or 'unknown quantization'}), not in use"
        elif f.quantization == "Q8_0" and f.kind == "projector" and derived:
            out[f.path.name] = "the Low memory copy of a projector; made again when that setting is on"
        elif derived:
            out[f.path.name] = "derived by PaperLens from the official projector; made again on first use"
        elif f.kind == "projector" and id(f) not in used:
            out[f.path.name] = "a second projector for the same mode, not in use"
    return out
