"""`paperlens models`: the model files found in the model folder, what each is, and whether the set is complete."""

from __future__ import annotations

import argparse
import json
import sys

from paperlens.commands import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-dir")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from paperlens.core.models import missing_models_message, resolve_model_dir, scan_model_dir

    folder = resolve_model_dir(args.model_dir)
    found = scan_model_dir(folder)
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(folder),
                    "complete": found.complete,
                    "text": str(found.text.path) if found.text else None,
                    "projectors": {m: str(f.path) for m, f in found.projectors.items()},
                    "files": [
                        {
                            "path": str(f.path),
                            "kind": f.kind,
                            "arch": f.arch,
                            "quantization": f.quantization,
                            "mode": f.mode,
                            "size": f.size,
                            "problem": f.problem or None,
                        }
                        for f in found.files
                    ],
                },
                indent=2,
            )
        )
        return 0 if found.complete else 3
    print(f"Model folder: {folder}")
    if not found.files:
        print("  (no .gguf files)")
    for f in found.files:
        mark = "*" if f is found.text or f in found.projectors.values() else " "
        print(f" {mark} {f.describe()}")
    if found.complete:
        modes = ", ".join(sorted(found.projectors))
        print(f"Ready: text model {found.text.path.name}; projector modes on disk: {modes}.")
        if "4x" not in found.projectors:
            print("  The 4x projector will be derived from the 16x one on first use (about 0.9 GB, once).")
        return 0
    print(missing_models_message(found), file=sys.stderr)
    return 3


COMMAND = Command(
    name="models", help="list the model files found and what they are", add_arguments=add_arguments, run=run
)
