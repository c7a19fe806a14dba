"""`paperlens doctor`: is this installation able to run MiniCPM-V 4.6? llama.cpp's build, the GPU, the models.

It proves that llama.cpp runs the projector by loading the tiny synthetic twin (`paperlens.dev.synth`), which is why
this command, unlike the core, depends on `paperlens.dev`.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

from paperlens import __version__
from paperlens.commands import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-dir")


def run(args: argparse.Namespace) -> int:
    from paperlens.core.models import resolve_model_dir, scan_model_dir

    ok = True
    print(
        f"PaperLens {__version__} on Python {platform.python_version()} ({platform.system()} {platform.machine()})"
    )
    try:
        import llama_cpp

        from paperlens.core.engine import gpu_offload_supported

        print(
            f"llama-cpp-python {llama_cpp.__version__}; GPU offload: {'yes' if gpu_offload_supported() else 'no'}"
        )
        info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
        print(f"  llama.cpp build: {info}")
    except ImportError as exc:
        print(f"llama-cpp-python is not installed ({exc}).")
        return 1
    print("Checking that llama.cpp runs the MiniCPM-V 4.6 projector (on the tiny synthetic twin)…")
    try:
        from PIL import Image

        from paperlens.core.engine import EngineConfig, LlamaEngine
        from paperlens.core.prompts import parse_task
        from paperlens.dev.synth import build_twin  # numpy: imported only when the check runs

        with tempfile.TemporaryDirectory() as tmp:
            build_twin(Path(tmp), "tiny")
            engine = LlamaEngine(
                scan_model_dir(tmp), EngineConfig(mode="16x", device="cpu", n_ctx=2048, max_tokens=4)
            )
            with engine:
                r = engine.run(parse_task(), Image.new("RGB", (448, 448), "white"))
        print(f"  yes: encoded a test image into {r.stats.image_tokens} image tokens and generated text.")
    except Exception as exc:  # report, don't crash: this is the diagnostic
        ok = False
        print(f"  NO: {exc}")
    folder = resolve_model_dir(args.model_dir)
    found = scan_model_dir(folder)
    print(f"Model folder {folder}: {'ready' if found.complete else 'not ready'}")
    for f in found.files:
        print(f"  {f.describe()}")
    if not found.complete:
        from paperlens.core.models import missing_models_message

        print(f"  {missing_models_message(found)}")
    return 0 if ok else 1


COMMAND = Command(
    name="doctor",
    help="check the installation: llama.cpp build, GPU, projector support, models",
    add_arguments=add_arguments,
    run=run,
)
