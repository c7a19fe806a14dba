from paperlens.cli import main

raise SystemExit(main())
