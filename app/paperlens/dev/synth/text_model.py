"""The text-model writer: an F16 GGUF of arch ``qwen35`` with the synthetic tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from paperlens.dev.synth.gguf_writer import FTYPE_F16, Tensor, write_gguf
from paperlens.dev.synth.shapes import Progress, TextShape
from paperlens.dev.synth.tokenizer import CHAT_TEMPLATE, build_vocab

if TYPE_CHECKING:
    import gguf


def _text_tensors(s: TextShape) -> list[Tensor]:
    f16, f32 = np.float16, np.float32
    e = s.n_embd
    key_dim = s.ssm_state_size * s.ssm_group_count
    value_dim = s.ssm_state_size * s.ssm_time_step_rank
    conv_dim = 2 * key_dim + value_dim
    head_v_dim = s.ssm_inner_size // s.ssm_time_step_rank

    out = [Tensor("token_embd.weight", (s.n_vocab, e), f16, "normal")]
    for il in range(s.n_layer):
        p = f"blk.{il}."
        out += [
            Tensor(p + "attn_norm.weight", (e,), f32, "ones"),
            Tensor(p + "post_attention_norm.weight", (e,), f32, "ones"),
        ]
        if s.is_recurrent(il):
            out += [
                Tensor(p + "attn_qkv.weight", (conv_dim, e), f16, "normal"),
                Tensor(p + "attn_gate.weight", (value_dim, e), f16, "normal"),
                Tensor(p + "ssm_conv1d.weight", (conv_dim, s.ssm_conv_kernel), f32, "uniform", 0.5),
                Tensor(p + "ssm_dt.bias", (s.ssm_time_step_rank,), f32, "dt_bias"),
                Tensor(p + "ssm_a", (s.ssm_time_step_rank,), f32, "ssm_a"),
                Tensor(p + "ssm_beta.weight", (s.ssm_time_step_rank, e), f16, "normal"),
                Tensor(p + "ssm_alpha.weight", (s.ssm_time_step_rank, e), f16, "normal"),
                Tensor(p + "ssm_norm.weight", (head_v_dim,), f32, "ones"),
                Tensor(p + "ssm_out.weight", (e, value_dim), f16, "normal"),
            ]
        else:
            out += [
                Tensor(p + "attn_q.weight", (2 * s.n_head * s.head_dim, e), f16, "normal"),
                Tensor(p + "attn_k.weight", (s.n_head_kv * s.head_dim, e), f16, "normal"),
                Tensor(p + "attn_v.weight", (s.n_head_kv * s.head_dim, e), f16, "normal"),
                Tensor(p + "attn_output.weight", (e, s.n_head * s.head_dim), f16, "normal"),
                Tensor(p + "attn_q_norm.weight", (s.head_dim,), f32, "ones"),
                Tensor(p + "attn_k_norm.weight", (s.head_dim,), f32, "ones"),
            ]
        out += [
            Tensor(p + "ffn_gate.weight", (s.n_ff, e), f16, "normal"),
            Tensor(p + "ffn_up.weight", (s.n_ff, e), f16, "normal"),
            Tensor(p + "ffn_down.weight", (e, s.n_ff), f16, "normal"),
        ]
    out.append(Tensor("output_norm.weight", (e,), f32, "ones"))  # no output.weight: embeddings are tied
    return out


def write_text_model(
    path: Path, shape: TextShape, *, seed: int = 0, name: str = "twin", progress: Progress | None = None
) -> Path:
    """Write an F16 text GGUF of arch ``qwen35`` with a synthetic tokenizer; returns ``path``."""
    s = shape
    if s.ssm_inner_size != s.ssm_state_size * s.ssm_time_step_rank:
        raise ValueError("qwen35 needs ssm_inner_size == ssm_state_size * ssm_time_step_rank")
    if sum(s.rope_sections) * 2 != s.rope_dim:
        raise ValueError("rope sections must cover rope_dim / 2")
    vocab = build_vocab(s.n_vocab)
    arch = "qwen35"

    def kv(w: gguf.GGUFWriter) -> None:
        w.add_type("model")
        w.add_name(f"MiniCPM-V 4.6 synthetic twin ({name}, random weights)")
        w.add_description("PaperLens synthetic twin: real architecture, random weights. Outputs are noise.")
        w.add_uint32("general.file_type", FTYPE_F16)
        w.add_uint32("general.quantization_version", 2)
        w.add_uint32(f"{arch}.context_length", s.n_ctx_train)
        w.add_uint32(f"{arch}.embedding_length", s.n_embd)
        w.add_uint32(f"{arch}.block_count", s.n_layer)
        w.add_uint32(f"{arch}.feed_forward_length", s.n_ff)
        w.add_uint32(f"{arch}.attention.head_count", s.n_head)
        w.add_uint32(f"{arch}.attention.head_count_kv", s.n_head_kv)
        w.add_uint32(f"{arch}.attention.key_length", s.head_dim)
        w.add_uint32(f"{arch}.attention.value_length", s.head_dim)
        w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", s.rms_eps)
        w.add_float32(f"{arch}.rope.freq_base", s.rope_theta)
        w.add_uint32(f"{arch}.rope.dimension_count", s.rope_dim)
        w.add_array(f"{arch}.rope.dimension_sections", list(s.rope_sections))
        w.add_uint32(f"{arch}.ssm.conv_kernel", s.ssm_conv_kernel)
        w.add_uint32(f"{arch}.ssm.state_size", s.ssm_state_size)
        w.add_uint32(f"{arch}.ssm.group_count", s.ssm_group_count)
        w.add_uint32(f"{arch}.ssm.time_step_rank", s.ssm_time_step_rank)
        w.add_uint32(f"{arch}.ssm.inner_size", s.ssm_inner_size)
        w.add_uint32(f"{arch}.full_attention_interval", s.full_attention_interval)
        # tokenizer
        w.add_string("tokenizer.ggml.model", "gpt2")
        w.add_string("tokenizer.ggml.pre", "qwen35")
        w.add_array("tokenizer.ggml.tokens", vocab.tokens)
        w.add_array("tokenizer.ggml.token_type", vocab.token_types)
        w.add_array("tokenizer.ggml.merges", vocab.merges)
        w.add_uint32("tokenizer.ggml.eos_token_id", vocab.id_of("<|im_end|>"))
        w.add_uint32("tokenizer.ggml.padding_token_id", vocab.id_of("<|endoftext|>"))
        w.add_uint32("tokenizer.ggml.bos_token_id", vocab.id_of("<|endoftext|>"))
        w.add_uint32("tokenizer.ggml.unknown_token_id", vocab.id_of("<unk>"))
        w.add_bool("tokenizer.ggml.add_bos_token", False)
        w.add_string("tokenizer.chat_template", CHAT_TEMPLATE)

    write_gguf(Path(path), arch, kv, _text_tensors(s), seed, progress, "text")
    return Path(path)
