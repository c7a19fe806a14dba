"""One measured run in a process of its own, so its peak RSS is the run's own and not its neighbours'.

    python -m tests.benchmarks.worker --tool paperlens|raw --mode 4x|16x --image PAGE.png --model-dir DIR [--followup]
                                      [--low-memory]

Prints one JSON line. `paperlens` goes through PaperLens' Engine; `raw` does the same work with llama-cpp-python alone
(`Llama` + `MTMDChatHandler`, the library's documented path), so the two can be compared figure by figure.
"""

from __future__ import annotations

import argparse
import base64
import json
import resource
import sys
import time
from pathlib import Path

from PIL import Image

INSTRUCTION = "Convert this document page to Markdown."


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def page_seconds(ttft: float, tok_s: float, tokens: int) -> float:
    """Seconds for a page of `tokens` generated tokens: time to first token plus the rest at the decode rate."""
    return ttft + (tokens - 1) / tok_s if tok_s > 0 else float("nan")


def fixed_length_config(mode: str, device: str, threads: int | None, **extra):
    """The benchmarks' engine settings: greedy, no repeat penalty, no repetition guard (a random twin loops) and end
    of text suppressed (it would stop anywhere), so every run decodes exactly the tokens asked for."""
    from paperlens.core.engine import EngineConfig

    settings = dict(
        mode=mode,
        device=device,
        n_ctx=8192,
        n_threads=threads,
        temperature=0.0,
        repeat_penalty=1.0,
        repetition_guard=False,
        suppress_eos=True,
    )
    return EngineConfig(**{**settings, **extra})


def run_paperlens(args) -> dict:
    from paperlens.core.engine import LlamaEngine
    from paperlens.core.models import scan_model_dir
    from paperlens.core.prompts import ask_task, parse_task

    cfg = fixed_length_config(
        args.mode,
        args.device,
        args.threads,
        max_tokens=args.tokens,
        low_memory=args.low_memory,  # the mode's Q8_0 projector (derived before any timing by the harness)
    )
    engine = LlamaEngine(scan_model_dir(args.model_dir), cfg)
    t0 = time.perf_counter()
    engine.load()
    load_s = time.perf_counter() - t0
    image = Image.open(args.image).convert("RGB")
    out: dict = {"load_s": load_s}
    if args.followup:
        first = engine.run(ask_task("What is the total amount?"), image, max_tokens=16)
        second = engine.run(ask_task("And the date?"), image, max_tokens=16)
        out.update(
            first_ttft_s=first.stats.ttft_s,
            followup_ttft_s=second.stats.ttft_s,
            followup_reused=second.stats.image_reused,
            image_tokens=first.stats.image_tokens,
        )
    else:
        r = engine.run(parse_task(), image)
        s = r.stats
        out.update(
            image_tokens=s.image_tokens,
            prompt_tokens=s.prompt_tokens,
            generated_tokens=s.generated_tokens,
            ttft_s=s.ttft_s,
            encode_s=s.encode_s,
            decode_tokens_per_s=s.decode_tokens_per_s,
            wall_s=s.wall_s,
            slices=s.slices,
        )
    engine.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def run_raw(args) -> dict:
    """The same page through llama-cpp-python's own multimodal chat path, no PaperLens code."""
    import llama_cpp
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import MTMDChatHandler

    from paperlens.core.models import (
        scan_model_dir,  # only to find the files; no PaperLens code runs the model
    )

    found = scan_model_dir(args.model_dir)
    text, proj = found.require(args.mode)
    t0 = time.perf_counter()
    handler = MTMDChatHandler(clip_model_path=str(proj.path), verbose=False)
    llm = Llama(
        model_path=str(text.path),
        chat_handler=handler,
        n_ctx=8192,
        n_batch=512,
        n_ubatch=512,
        n_threads=args.threads,
        n_threads_batch=args.threads,
        n_gpu_layers=-1 if args.device == "gpu" else 0,
        flash_attn=True,
        verbose=False,
    )
    handler._init_mtmd_context(llm)  # load the projector before timing, as PaperLens does in load()
    load_s = time.perf_counter() - t0
    data = base64.b64encode(Path(args.image).read_bytes()).decode()
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
                {"type": "text", "text": INSTRUCTION},
            ],
        }
    ]
    eos = llm.token_eos()
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    eog = {t: -1e9 for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, t)} or {eos: -1e9}
    t_start = time.perf_counter()
    t_first = t_last = None
    pieces = 0
    for chunk in llm.create_chat_completion(
        messages=messages,
        max_tokens=args.tokens,
        temperature=0.0,
        repeat_penalty=1.0,
        stream=True,
        logit_bias=eog,
    ):
        delta = chunk["choices"][0].get("delta", {})
        if delta.get("content"):
            now = time.perf_counter()
            t_first = t_first or now
            t_last = now
            pieces += 1
    wall = time.perf_counter() - t_start
    generated = pieces
    prompt_tokens = llm.n_tokens - generated
    out = {
        "load_s": load_s,
        "prompt_tokens": prompt_tokens,
        "generated_tokens": generated,
        "ttft_s": (t_first or t_start) - t_start,
        "decode_tokens_per_s": (generated - 1) / (t_last - t_first)
        if t_first and t_last and t_last > t_first
        else 0,
        "wall_s": wall,
    }
    llm.close()
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--tool", choices=("paperlens", "raw"), required=True)
    p.add_argument("--mode", choices=("4x", "16x"), required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--tokens", type=int, default=512)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--followup", action="store_true")
    p.add_argument("--low-memory", action="store_true", help="PaperLens with the Q8_0 projector")
    args = p.parse_args(argv)
    if not args.threads:  # both paths get the same threads: PaperLens' default, the physical cores
        from paperlens.core.engine.images import physical_cores

        args.threads = physical_cores()
    result = run_paperlens(args) if args.tool == "paperlens" else run_raw(args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
