"""`paperlens dev synth`: developer tools (the synthetic MiniCPM-V 4.6 twin for tests and benchmarks)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from paperlens.commands import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    dev = p.add_subparsers(dest="dev_command")
    s = dev.add_parser(
        "synth", help="write a synthetic MiniCPM-V 4.6 twin (random weights, real architecture)"
    )
    s.add_argument("--size", choices=("tiny", "full"), default="tiny")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("dir")


def run(args: argparse.Namespace) -> int:
    if args.dev_command == "synth":
        from paperlens.dev.synth import build_twin

        t0 = time.perf_counter()
        files = build_twin(
            Path(args.dir), args.size, seed=args.seed, progress=lambda m: print(m, file=sys.stderr)
        )
        for f in (files.text, files.projector):
            print(f"{f}  {f.stat().st_size / 1e6:,.1f} MB")
        print(f"built the {args.size} twin in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        return 0
    print("usage: paperlens dev synth --size tiny|full DIR", file=sys.stderr)
    return 1


COMMAND = Command(name="dev", help="developer tools", add_arguments=add_arguments, run=run)
