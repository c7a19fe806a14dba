"""Synthetic twin of MiniCPM-V 4.6: GGUF files with the real architecture and random weights.

Why this exists: the real weights (about 0.5 GB of text model plus a 1.1 GB projector) cannot be downloaded in CI or
on a developer machine without network, yet everything PaperLens does with them (loading, slicing a page into image
tokens, encoding, prefill, streaming, state reuse, timing) depends only on the *architecture*, never on what the
weights say. So we write files that the real llama.cpp loads through exactly the code paths the official files take:

- a text model of arch ``qwen35`` (hybrid Gated-DeltaNet + gated full attention, IMROPE, tied embeddings) with a small
  byte-level BPE tokenizer that carries every special token the ChatML template and ``mtmd`` need;
- a projector of type ``minicpmv4_6`` in 16x mode (``clip.vision.projector.scale_factor = 4``, ViT merger present),
  like the only projector that is published; :func:`write_projector` can also write the 4x variant for tests.

``size="tiny"`` builds in about a second and is what the integration tests run on; its vision tower keeps the real
patch size, slice size and merger structure, so a page yields the same number of image tokens as the real model.
``size="full"`` has the real shapes (text quantized to Q4_K_M like the official default) and is for benchmarks:
its speed and memory are the real model's, its answers are noise.

Tensor names, shapes, dtypes and metadata keys mirror llama.cpp's converter (``conversion/minicpm.py``,
``conversion/qwen.py``) and loaders (``src/models/qwen35.cpp``, ``tools/mtmd/clip.cpp``) of llama-cpp-python 0.3.36.

The package's modules: `shapes` (the hyperparameters), `tokenizer` (vocabulary and chat template), `gguf_writer`
(streamed, seeded tensors), `text_model` and `projector` (the two writers) and `twin` (building and caching both).
"""

from paperlens.dev.synth.projector import write_projector
from paperlens.dev.synth.shapes import SIZES, TextShape, VisionShape
from paperlens.dev.synth.text_model import write_text_model
from paperlens.dev.synth.twin import (
    TWIN_VERSION,
    TwinFiles,
    build_twin,
    cached_twin,
    default_cache_dir,
    twin_file_names,
)

__all__ = [
    "SIZES",
    "TWIN_VERSION",
    "TextShape",
    "TwinFiles",
    "VisionShape",
    "build_twin",
    "cached_twin",
    "default_cache_dir",
    "twin_file_names",
    "write_projector",
    "write_text_model",
]
