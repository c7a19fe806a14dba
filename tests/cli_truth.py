"""`python -m tests.cli_truth ARGS...`: the real `paperlens` command line, in its own process, with the TruthEngine
registered as the local engine (every page answers "page text"), for CLI tests that need no model output."""

from __future__ import annotations

import sys

from paperlens.core.engine.registry import register
from paperlens.core.options import LOCAL
from tests.engines import TruthEngine


def main() -> int:
    register(LOCAL, lambda options: TruthEngine(lambda key: "page text", mode=options.mode))
    from paperlens.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
