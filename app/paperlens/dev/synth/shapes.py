"""The twin's two architectures as hyperparameters: `TextShape`, `VisionShape`, and the sizes (`SIZES`) built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TextShape:
    """Hyperparameters of the qwen35 text tower (names follow llama.cpp's metadata keys)."""

    n_embd: int
    n_layer: int
    n_ff: int
    n_head: int
    n_head_kv: int
    head_dim: int
    rope_dim: int
    rope_sections: tuple[int, int, int, int]
    ssm_conv_kernel: int
    ssm_state_size: int
    ssm_group_count: int
    ssm_time_step_rank: int
    ssm_inner_size: int
    full_attention_interval: int
    n_vocab: int
    n_ctx_train: int = 262144
    rms_eps: float = 1e-6
    rope_theta: float = 1e7

    def is_recurrent(self, il: int) -> bool:
        """Gated-DeltaNet layer (as llama.cpp derives it from full_attention_interval)."""
        return (il + 1) % self.full_attention_interval != 0


@dataclass(frozen=True)
class VisionShape:
    """Hyperparameters of the SigLIP tower with MiniCPM-V 4.6's ViT merger and final merger."""

    n_embd: int
    n_layer: int
    n_ff: int
    n_head: int
    insert_layer: int  # ViT merger runs after this layer (clip.vision.wa_layer_indexes)
    merger_ff: int  # hidden size of the ViT merger's downsample MLP
    projection_dim: int  # = text n_embd
    patch_size: int = 14
    image_size: int = 448  # slice size, as the official converter writes it
    pos_buckets: int = 70  # the 70 x 70 learned position table
    eps: float = 1e-6


#: size -> (text, vision) shapes. "full" is MiniCPM-V 4.6; "tiny" keeps every structural feature.
SIZES: dict[str, tuple[TextShape, VisionShape]] = {
    "full": (
        TextShape(
            n_embd=1024,
            n_layer=24,
            n_ff=3584,
            n_head=8,
            n_head_kv=2,
            head_dim=256,
            rope_dim=64,
            rope_sections=(11, 11, 10, 0),
            ssm_conv_kernel=4,
            ssm_state_size=128,
            ssm_group_count=16,
            ssm_time_step_rank=16,
            ssm_inner_size=2048,
            full_attention_interval=4,
            n_vocab=248094,
        ),
        VisionShape(
            n_embd=1152,
            n_layer=27,
            n_ff=4304,
            n_head=16,
            insert_layer=6,
            merger_ff=17216,
            projection_dim=1024,
        ),
    ),
    "tiny": (
        TextShape(
            n_embd=128,
            n_layer=4,
            n_ff=256,
            n_head=2,
            n_head_kv=1,
            head_dim=256,
            rope_dim=64,
            rope_sections=(11, 11, 10, 0),
            ssm_conv_kernel=4,
            ssm_state_size=32,
            ssm_group_count=4,
            ssm_time_step_rank=4,
            ssm_inner_size=128,
            full_attention_interval=4,
            n_vocab=2048,
        ),
        VisionShape(
            n_embd=64,
            n_layer=4,
            n_ff=128,
            n_head=2,
            insert_layer=1,
            merger_ff=512,
            projection_dim=128,
        ),
    ),
}


def shapes_of(size: str) -> tuple[TextShape, VisionShape]:
    try:
        return SIZES[size]
    except KeyError:
        raise ValueError(f"unknown twin size {size!r}; expected one of {sorted(SIZES)}") from None


def say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
