"""The projector writer: an F16 clip GGUF of projector type ``minicpmv4_6`` (16x, or the 4x variant)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paperlens.dev.synth.gguf_writer import FTYPE_F16, Tensor, write_gguf
from paperlens.dev.synth.shapes import Progress, VisionShape

if TYPE_CHECKING:
    import gguf


def _vision_tensors(v: VisionShape, scale_factor: int) -> list[Tensor]:
    f16, f32 = np.float16, np.float32
    h = v.n_embd
    out = [
        Tensor("v.patch_embd.weight", (h, 3, v.patch_size, v.patch_size), f16, "normal"),
        Tensor("v.patch_embd.bias", (h,), f32, "normal"),
        # F32 like the converter writes V_ENC_EMBD_POS
        Tensor("v.position_embd.weight", (v.pos_buckets * v.pos_buckets, h), f32, "normal"),
    ]
    for il in range(v.n_layer):
        p = f"v.blk.{il}."
        for proj in ("attn_q", "attn_k", "attn_v", "attn_out"):
            out += [
                Tensor(p + proj + ".weight", (h, h), f16, "normal"),
                Tensor(p + proj + ".bias", (h,), f32, "normal"),
            ]
        out += [
            Tensor(p + "ln1.weight", (h,), f32, "ones"),
            Tensor(p + "ln1.bias", (h,), f32, "normal"),
            Tensor(p + "ffn_up.weight", (v.n_ff, h), f16, "normal"),
            Tensor(p + "ffn_up.bias", (v.n_ff,), f32, "normal"),
            Tensor(p + "ffn_down.weight", (h, v.n_ff), f16, "normal"),
            Tensor(p + "ffn_down.bias", (h,), f32, "normal"),
            Tensor(p + "ln2.weight", (h,), f32, "ones"),
            Tensor(p + "ln2.bias", (h,), f32, "normal"),
        ]
    out += [Tensor("v.post_ln.weight", (h,), f32, "ones"), Tensor("v.post_ln.bias", (h,), f32, "normal")]
    if (
        scale_factor == 4
    ):  # 16x mode: the ViT merger (window attention + 2x2 downsample MLP) after insert_layer
        p = "v.vit_merger."
        out += [Tensor(p + "ln1.weight", (h,), f32, "ones"), Tensor(p + "ln1.bias", (h,), f32, "normal")]
        for proj in ("attn_q", "attn_k", "attn_v", "attn_out"):
            out += [
                Tensor(p + proj + ".weight", (h, h), f16, "normal"),
                Tensor(p + proj + ".bias", (h,), f32, "normal"),
            ]
        out += [
            Tensor(p + "ds_ln.weight", (4 * h,), f32, "ones"),
            Tensor(p + "ds_ln.bias", (4 * h,), f32, "normal"),
            Tensor(p + "ds_ffn_up.weight", (v.merger_ff, 4 * h), f16, "normal"),
            Tensor(p + "ds_ffn_up.bias", (v.merger_ff,), f32, "normal"),
            Tensor(p + "ds_ffn_down.weight", (h, v.merger_ff), f16, "normal"),
            Tensor(p + "ds_ffn_down.bias", (h,), f32, "normal"),
        ]
    # final merger (DownsampleMLP): LN(4h) -> 4h -> 4h -> text n_embd
    out += [
        Tensor("mm.input_norm.weight", (4 * h,), f32, "ones"),
        Tensor("mm.input_norm.bias", (4 * h,), f32, "normal"),
        Tensor("mm.up.weight", (4 * h, 4 * h), f16, "normal"),
        Tensor("mm.up.bias", (4 * h,), f32, "normal"),
        Tensor("mm.down.weight", (v.projection_dim, 4 * h), f16, "normal"),
        Tensor("mm.down.bias", (v.projection_dim,), f32, "normal"),
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
        w.add_uint32("general.file_type", FTYPE_F16)
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

    write_gguf(Path(path), "clip", kv, _vision_tensors(v, scale_factor), seed, progress, "projector")
    return Path(path)
