import sys

if sys.argv[1:2] == [
    "--paperlens-renderer"
]:  # a frozen build started as its own renderer child (core/isolation.py)
    from paperlens.core.isolation import child_main

    child_main(sys.argv[2:])
    raise SystemExit(0)

from paperlens.cli import main  # noqa: E402

raise SystemExit(main())
