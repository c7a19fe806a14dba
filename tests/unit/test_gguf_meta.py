"""The fast GGUF header reader agrees with the gguf package, skips long arrays, and refuses cut files."""

from __future__ import annotations

import gguf
import numpy as np
import pytest

from paperlens.core.gguf_meta import KEEP_ARRAY, GGUFFormatError, read_header


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "m.gguf"
    w = gguf.GGUFWriter(path, "qwen35")
    w.add_uint32("qwen35.embedding_length", 64)
    w.add_float32("qwen35.rope.freq_base", 1e7)
    w.add_bool("some.flag", True)
    w.add_string("general.name", "sample")
    w.add_array("short.list", [1, 2, 3])
    w.add_token_list([f"tok{i}" for i in range(KEEP_ARRAY * 10)])
    w.add_tensor("a.weight", np.zeros((4, 8), dtype=np.float16))
    w.add_tensor("b.weight", np.ones(16, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_header_matches_the_gguf_package(sample):
    h = read_header(sample)
    r = gguf.GGUFReader(sample)
    assert h.kv["general.architecture"] == "qwen35"
    assert h.kv["qwen35.embedding_length"] == 64
    assert h.kv["some.flag"] is True
    assert h.kv["short.list"] == [1, 2, 3]
    assert h.kv["qwen35.rope.freq_base"] == pytest.approx(1e7)
    assert "tokenizer.ggml.tokens" not in h.kv  # long arrays are skipped...
    assert h.array_lengths["tokenizer.ggml.tokens"] == KEEP_ARRAY * 10  # ...but their length is known
    assert [(t.name, t.offset) for t in h.tensors] == [
        (t.name, t.data_offset - h.data_start) for t in r.tensors
    ]
    assert h.data_end() == max(int(t.data_offset) + int(t.n_bytes) for t in r.tensors)


@pytest.mark.parametrize("cut", [3, 40, 200])
def test_a_file_cut_inside_its_header_is_refused(sample, tmp_path, cut):
    part = tmp_path / "cut.gguf"
    part.write_bytes(sample.read_bytes()[:cut])
    with pytest.raises(GGUFFormatError):
        read_header(part)


def test_not_gguf_is_refused(tmp_path):
    p = tmp_path / "x.gguf"
    p.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(GGUFFormatError, match="not a GGUF"):
        read_header(p)
