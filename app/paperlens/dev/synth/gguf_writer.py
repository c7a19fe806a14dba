"""Writing a GGUF file: tensor infos first, then each tensor generated from its seed and written on its own."""

from __future__ import annotations

import contextlib
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paperlens.dev.synth.shapes import Progress, say

if TYPE_CHECKING:
    import gguf

FTYPE_F16 = 1  # LLAMA_FTYPE_MOSTLY_F16
_GGUF_F16 = 1  # GGMLQuantizationType.F16
_GGUF_F32 = 0  # GGMLQuantizationType.F32


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]  # numpy order (outermost first), i.e. ggml ne reversed
    dtype: type  # np.float16 or np.float32
    init: str  # "normal", "ones", "uniform", "ssm_a", "dt_bias"
    std: float = 0.02


def _rng(seed: int, name: str) -> np.random.Generator:
    # One stream per tensor: the file does not depend on the order tensors are generated in.
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))]))


def _materialize(t: Tensor, seed: int) -> np.ndarray:
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


def write_gguf(
    path: Path,
    arch: str,
    kv: Callable[[gguf.GGUFWriter], None],
    tensors: list[Tensor],
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
                say(progress, f"{label}: {i + 1}/{len(tensors)} tensors")
        writer.close()
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
