"""A fast reader of a GGUF file's header: its key/value metadata and tensor table, without its data.

`gguf.GGUFReader` builds Python objects for every element of every array, so opening MiniCPM-V's text model (a
248,094-token vocabulary plus its merges) takes seconds to tens of seconds. Finding models only needs scalar keys and
the tensor table, so this reader skips long arrays by their lengths and never touches tensor data.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

GGUF_MAGIC = b"GGUF"
# gguf value types (gguf-py/gguf/constants.py GGUFValueType)
_SCALARS = {
    0: "<B",  # UINT8
    1: "<b",  # INT8
    2: "<H",  # UINT16
    3: "<h",  # INT16
    4: "<I",  # UINT32
    5: "<i",  # INT32
    6: "<f",  # FLOAT32
    7: "<?",  # BOOL
    10: "<Q",  # UINT64
    11: "<q",  # INT64
    12: "<d",  # FLOAT64
}
_STRING, _ARRAY = 8, 9
KEEP_ARRAY = 64  # arrays longer than this are skipped (their length is kept)


class GGUFFormatError(ValueError):
    """Not a GGUF file, or one cut short inside its header."""


@dataclass
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int  # from the start of the data section

    def n_bytes(self) -> int:
        import gguf

        block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(self.ggml_type)]
        n = 1
        for d in self.shape:
            n *= d
        return n // block * size


@dataclass
class GGUFHeader:
    version: int
    kv: dict[str, object] = field(default_factory=dict)
    array_lengths: dict[str, int] = field(default_factory=dict)  # every array's length, kept or skipped
    tensors: list[TensorInfo] = field(default_factory=list)
    data_start: int = 0

    def data_end(self) -> int:
        """Where the last tensor's data ends: beyond the file's size means the file was cut short."""
        return self.data_start + max((t.offset + t.n_bytes() for t in self.tensors), default=0)


class _Cursor:
    def __init__(self, f, size: int) -> None:
        self.f = f
        self.size = size

    def read(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise GGUFFormatError("the file ends inside its header")
        return data

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        n = self.unpack("<Q")
        if n > self.size:
            raise GGUFFormatError("a string in the header is longer than the file")
        return self.read(n).decode("utf-8", "replace")

    def skip_strings(self, count: int) -> None:
        for _ in range(count):
            n = self.unpack("<Q")
            self.f.seek(n, os.SEEK_CUR)

    def value(self, vtype: int):
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        raise GGUFFormatError(f"unknown value type {vtype}")


def read_header(path: str | os.PathLike) -> GGUFHeader:
    """Read a GGUF header. Raises GGUFFormatError for a file that is not GGUF or whose header is cut short."""
    path = Path(path)
    size = path.stat().st_size
    # A big buffer: skipping a 248k-token vocabulary is thousands of tiny reads, and each one hands the GIL around
    # (the window's thread waited 100-250 ms per header with the default buffer).
    with path.open("rb", buffering=16 << 20) as f:
        cur = _Cursor(f, size)
        if cur.read(4) != GGUF_MAGIC:
            raise GGUFFormatError("not a GGUF file")
        version = cur.unpack("<I")
        if version not in (2, 3):
            raise GGUFFormatError(f"unsupported GGUF version {version}")
        n_tensors = cur.unpack("<Q")
        n_kv = cur.unpack("<Q")
        if n_tensors > 1_000_000 or n_kv > 1_000_000:
            raise GGUFFormatError("implausible header counts")
        header = GGUFHeader(version=version)
        for _ in range(n_kv):
            key = cur.string()
            vtype = cur.unpack("<I")
            if vtype != _ARRAY:
                header.kv[key] = cur.value(vtype)
                continue
            etype = cur.unpack("<I")
            count = cur.unpack("<Q")
            header.array_lengths[key] = count
            if count <= KEEP_ARRAY:
                header.kv[key] = [cur.value(etype) for _ in range(count)]
            elif etype == _STRING:
                cur.skip_strings(count)
            elif etype in _SCALARS:
                f.seek(count * struct.calcsize(_SCALARS[etype]), os.SEEK_CUR)
            else:
                raise GGUFFormatError("nested arrays are not expected here")
        for _ in range(n_tensors):
            name = cur.string()
            n_dims = cur.unpack("<I")
            shape = tuple(cur.unpack("<Q") for _ in range(n_dims))
            ggml_type = cur.unpack("<I")
            offset = cur.unpack("<Q")
            header.tensors.append(TensorInfo(name, shape, ggml_type, offset))
        alignment = header.kv.get("general.alignment", 32)
        if not isinstance(alignment, int) or not 1 <= alignment <= 1 << 20:
            raise GGUFFormatError(f"implausible tensor alignment {alignment!r}")
        pos = f.tell()
        header.data_start = pos + (-pos % alignment)
        if header.data_start > size and header.tensors:
            raise GGUFFormatError("the file ends before its tensor data")
    return header
