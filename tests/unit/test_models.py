"""Finding models by their metadata, and deriving the 4x projector, on small hand-made GGUF files."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest

from paperlens.core.errors import ModelNotFound, ProjectorMismatch
from paperlens.core.models import (
    SCALE_KEY,
    derive_4x_projector,
    derived_4x_path,
    inspect_gguf,
    scan_model_dir,
)


def write_projector(path: Path, *, scale: int = 4, proj_dim: int = 64, ptype: str = "minicpmv4_6") -> Path:
    w = gguf.GGUFWriter(path, "clip")
    w.add_string("general.name", "test projector")
    w.add_uint32("general.file_type", 1)
    w.add_string("clip.projector_type", ptype)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_uint32("clip.vision.projection_dim", proj_dim)
    w.add_uint32(SCALE_KEY, scale)
    w.add_array("clip.vision.wa_layer_indexes", [1])
    w.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    rng = np.random.default_rng(0)
    w.add_tensor("v.patch_embd.weight", rng.standard_normal((8, 3, 14, 14)).astype(np.float16))
    w.add_tensor("v.blk.0.attn_q.weight", rng.standard_normal((8, 8)).astype(np.float16))
    w.add_tensor("v.post_ln.weight", np.ones(8, dtype=np.float32))
    if scale == 4:
        w.add_tensor("v.vit_merger.ln1.weight", np.ones(8, dtype=np.float32))
        w.add_tensor("v.vit_merger.attn_q.weight", rng.standard_normal((8, 8)).astype(np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def write_text(path: Path, *, arch: str = "qwen35", n_embd: int = 64) -> Path:
    w = gguf.GGUFWriter(path, arch)
    w.add_string("general.name", "test text")
    w.add_uint32("general.file_type", 15)  # Q4_K_M
    w.add_uint32(f"{arch}.embedding_length", n_embd)
    w.add_tensor("token_embd.weight", np.zeros((16, n_embd), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def fields(path: Path) -> dict:
    r = gguf.GGUFReader(path)
    return {k: f.contents() for k, f in r.fields.items() if not k.startswith("GGUF.")}


def test_files_are_found_by_metadata_not_name(tmp_path):
    # GIVEN files whose names say nothing (or lie)
    write_text(tmp_path / "mmproj-looks-like-a-projector.gguf")
    write_projector(tmp_path / "MiniCPM-V-4.6-Q4_K_M.gguf")
    # WHEN the folder is scanned
    found = scan_model_dir(tmp_path)
    # THEN each is recognised by what it is
    assert found.complete
    assert found.text.path.name == "mmproj-looks-like-a-projector.gguf"
    assert found.text.quantization == "Q4_K_M"
    assert found.projectors["16x"].path.name == "MiniCPM-V-4.6-Q4_K_M.gguf"


def test_empty_folder_says_which_files_and_where(tmp_path):
    found = scan_model_dir(tmp_path)
    with pytest.raises(ModelNotFound) as err:
        found.require("4x")
    msg = str(err.value)
    assert "text model" in msg and "projector" in msg
    assert str(tmp_path) in msg
    assert "huggingface.co/openbmb/MiniCPM-V-4.6-gguf" in msg


def test_other_model_and_truncated_file_are_named(tmp_path):
    write_text(tmp_path / "llama.gguf", arch="llama")
    good = write_projector(tmp_path / "proj.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size - 100])
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all")
    found = scan_model_dir(tmp_path)
    problems = {f.path.name: f.problem for f in found.files}
    assert "another architecture (llama)" in problems["llama.gguf"]
    assert "truncated" in problems["cut.gguf"]
    assert "not a complete GGUF" in problems["junk.gguf"]
    assert found.text is None
    with pytest.raises(ModelNotFound) as err:
        found.require("16x")
    assert "llama.gguf" in str(err.value)


def test_projector_of_another_model_is_refused(tmp_path):
    write_text(tmp_path / "text.gguf", n_embd=64)
    write_projector(tmp_path / "proj.gguf", proj_dim=128)
    found = scan_model_dir(tmp_path)
    with pytest.raises(ProjectorMismatch) as err:
        found.require("16x")
    assert "does not belong" in str(err.value)


def test_projector_of_another_type_is_not_used(tmp_path):
    write_text(tmp_path / "text.gguf")
    write_projector(tmp_path / "proj.gguf", ptype="qwen2vl_merger")
    found = scan_model_dir(tmp_path)
    assert not found.complete
    assert "another model" in found.files[0].problem or "another model" in found.files[1].problem


def test_derived_4x_projector_has_same_metadata_but_scale_and_no_merger(tmp_path):
    src = write_projector(tmp_path / "mmproj.gguf")
    info = inspect_gguf(src)
    out = derive_4x_projector(info)
    assert out.path == derived_4x_path(src)
    assert out.scale_factor == 2 and out.mode == "4x"
    a, b = fields(src), fields(out.path)
    assert b.pop(SCALE_KEY) == 2 and a.pop(SCALE_KEY) == 4
    assert a == b  # everything else identical
    ra, rb = gguf.GGUFReader(src), gguf.GGUFReader(out.path)
    kept = {t.name: t for t in rb.tensors}
    for t in ra.tensors:
        if t.name.startswith("v.vit_merger."):
            assert t.name not in kept
        else:
            assert np.array_equal(np.asarray(t.data), np.asarray(kept[t.name].data))
            assert kept[t.name].tensor_type == t.tensor_type
    # no temp files left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mmproj.gguf", "mmproj.paperlens-4x.gguf"]


def test_4x_is_derived_once_and_found_again(tmp_path):
    write_text(tmp_path / "text.gguf")
    write_projector(tmp_path / "mmproj.gguf")
    first = scan_model_dir(tmp_path)
    _, proj = first.require("4x")
    mtime = proj.path.stat().st_mtime_ns
    again = scan_model_dir(tmp_path)
    assert again.projectors["4x"].path == proj.path  # found on the next start
    _, proj2 = again.require("4x")
    assert proj2.path.stat().st_mtime_ns == mtime  # not written twice


def test_failed_derivation_leaves_no_file(tmp_path, monkeypatch):
    src = write_projector(tmp_path / "mmproj.gguf")

    def boom(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gguf.GGUFWriter, "write_ti_data_to_file", boom)  # the first step of writing tensors
    with pytest.raises(Exception) as err:
        derive_4x_projector(inspect_gguf(src))
    assert "No space left" in str(err.value) or "disk space" in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["mmproj.gguf"]


def _odd_projector(path: Path, key: str, add) -> Path:
    w = gguf.GGUFWriter(path, "clip")
    w.add_string("clip.projector_type", "minicpmv4_6")
    add(w, key)
    w.add_tensor("v.patch_embd.weight", np.zeros((8, 3, 14, 14), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


@pytest.mark.parametrize(
    "key, add",
    [
        ("general.alignment", lambda w, k: w.add_uint32(k, 0)),  # was ZeroDivisionError for the whole folder
        (SCALE_KEY, lambda w, k: w.add_array(k, [2, 4])),  # was TypeError for the whole folder
        (SCALE_KEY, lambda w, k: w.add_string(k, "4")),
    ],
    ids=["zero-alignment", "array-scale", "string-scale"],
)
def test_one_odd_file_is_listed_as_bad_and_the_rest_are_used(tmp_path, key, add):
    # GIVEN a good text model and projector, and one projector with odd metadata beside them
    write_text(tmp_path / "text.gguf")
    write_projector(tmp_path / "proj.gguf")
    _odd_projector(tmp_path / "odd.gguf", key, add)
    # WHEN the folder is scanned
    found = scan_model_dir(tmp_path)
    # THEN the good pair is ready and the odd file carries a reason instead of breaking the scan
    odd = next(f for f in found.files if f.path.name == "odd.gguf")
    assert found.complete and found.projectors["16x"].path.name == "proj.gguf"
    assert odd.problem and not odd.usable
