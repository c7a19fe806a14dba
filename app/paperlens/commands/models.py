"""`paperlens models`: the model files found, what each is, which set is in use and what can be removed;
`paperlens models download` gets the model from the hub (or a mirror); `paperlens models verify` re-checks the files.
"""

from __future__ import annotations

import argparse
import json
import sys

from paperlens.commands import Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-dir")
    p.add_argument("--json", action="store_true")
    sub = p.add_subparsers(dest="models_action", metavar="{download,verify}")
    d = sub.add_parser(
        "download",
        help="download the model from Hugging Face (or a mirror)",
        description="Download MiniCPM-V 4.6 (a text model and its vision projector) into the model folder, "
        "verify it and derive the 4x projector. An interrupted download continues where it stopped.",
    )
    d.add_argument(
        "--quant", help="quantization of the text model (default Q4_K_M); --list shows the choices"
    )
    d.add_argument("--model-dir", default=argparse.SUPPRESS)
    d.add_argument("--endpoint", help="a hub mirror (default: $HF_ENDPOINT, else https://huggingface.co)")
    d.add_argument("--list", action="store_true", help="only show what the repository offers")
    v = sub.add_parser("verify", help="re-check the model files (metadata, and SHA-256 of downloaded files)")
    v.add_argument("--model-dir", default=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "models_action", None)
    if action == "download":
        return run_download(args)
    if action == "verify":
        return run_verify(args)
    return run_list(args)


def run_list(args: argparse.Namespace) -> int:
    from paperlens.core.download import folder_report, partial_files
    from paperlens.core.models import (
        missing_models_message,
        removable_files,
        resolve_model_dir,
        scan_model_dir,
    )

    folder = resolve_model_dir(args.model_dir)
    found = scan_model_dir(folder)
    removable = removable_files(found)
    partials = partial_files(folder)
    in_use = {id(f) for f in (found.text, *found.projectors.values(), *found.compact.values()) if f}
    if args.json:
        print(
            json.dumps(
                {
                    "folder": str(folder),
                    "complete": found.complete,
                    "text": str(found.text.path) if found.text else None,
                    "projectors": {m: str(f.path) for m, f in found.projectors.items()},
                    "low_memory_projectors": {m: str(f.path) for m, f in found.compact.items()},
                    "files": [
                        {
                            "path": str(f.path),
                            "kind": f.kind,
                            "arch": f.arch,
                            "quantization": f.quantization,
                            "mode": f.mode,
                            "size": f.size,
                            "in_use": id(f) in in_use,
                            "removable": removable.get(f.path.name),
                            "variant": f.variant or None,
                            "problem": f.problem or None,
                        }
                        for f in found.files
                    ],
                    "partial_downloads": [{"path": str(p), "size": p.stat().st_size} for p in partials],
                },
                indent=2,
            )
        )
        return 0 if found.complete else 3
    for line in folder_report(folder, found):
        print(line)
    if found.complete:
        modes = ", ".join(sorted(found.projectors))
        print(f"Ready: text model {found.text.path.name}; projector modes on disk: {modes}.")
        if "4x" not in found.projectors:
            print("  The 4x projector will be derived from the 16x one on first use (about 0.9 GB, once).")
        return 0
    print(missing_models_message(found), file=sys.stderr)
    print("Get it with: paperlens models download", file=sys.stderr)
    return 3


def _progress_printer():
    tty = sys.stderr.isatty()
    last = {"file": "", "phase": ""}

    def show(p) -> None:
        line = p.describe()
        if tty:
            print(f"\r{line:<100}", end="", file=sys.stderr, flush=True)
            if p.phase == "done":
                print(file=sys.stderr)
        elif (p.file, p.phase) != (last["file"], last["phase"]) or p.done == p.total:
            print(line, file=sys.stderr)  # a log: one line per step, not per chunk
        last.update(file=p.file, phase=p.phase)

    return show


def run_download(args: argparse.Namespace) -> int:
    from paperlens.core.download import check_space, download_model, fetch_offer, hub_endpoint
    from paperlens.core.errors import DownloadCancelled
    from paperlens.core.models import OFFICIAL_REPO, resolve_model_dir

    folder = resolve_model_dir(args.model_dir)
    endpoint = hub_endpoint(args.endpoint)
    print(f"Listing {OFFICIAL_REPO} at {endpoint} …", file=sys.stderr)
    offer = fetch_offer(OFFICIAL_REPO, endpoint=endpoint)
    choice = offer.choose(args.quant)
    print(f"Text models in {offer.repo}:")
    for f in offer.texts:
        mark = "*" if f == choice.text else " "
        print(f" {mark} {f.quantization or '?':8} {f.size / 1e6:8,.0f} MB  {f.name}")
    print(f"Projector: {choice.projector.name}, {choice.projector.size / 1e6:,.0f} MB")
    print(f"Total: {choice.total / 1e9:.2f} GB into {folder}")
    if args.list:
        return 0
    need, free = check_space(choice, folder)
    print(f"Disk: {need / 1e9:.2f} GB needed (with the derived 4x projector), {free / 1e9:.2f} GB free.")
    try:
        result = download_model(offer, choice, folder, progress=_progress_printer())
    except (KeyboardInterrupt, DownloadCancelled):
        print(
            "\npaperlens: download stopped; the part already fetched is kept and "
            "`paperlens models download` continues from there.",
            file=sys.stderr,
        )
        return 130
    for name in result.kept:
        print(f"Already there and verified: {name}")
    for name in result.downloaded:
        resumed = result.resumed.get(name)
        note = f" (continued from {resumed / 1e6:,.0f} MB)" if resumed else ""
        print(f"Downloaded and verified: {name}{note}")
    modes = ", ".join(sorted(result.models.projectors))
    print(f"Ready: {result.models.text.path.name if result.models.text else '?'}; modes: {modes}.")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from paperlens.core.download import verify_folder
    from paperlens.core.models import resolve_model_dir

    folder = resolve_model_dir(args.model_dir)
    checks = verify_folder(folder)
    if not checks:
        print(f"No model files in {folder}.", file=sys.stderr)
        return 3
    for c in checks:
        print(f"{'OK ' if c.ok else 'BAD'} {c.name}: {c.message}")
    bad = [c for c in checks if not c.ok]
    if bad:
        print(f"{len(bad)} file(s) failed; `paperlens models download` fetches good copies.", file=sys.stderr)
        return 3
    return 0


COMMAND = Command(
    name="models",
    help="list, download or verify the model files",
    add_arguments=add_arguments,
    run=run,
)
