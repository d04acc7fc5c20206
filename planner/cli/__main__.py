"""``python -m planner.cli …``: the same as the ``planner`` command (no console script needed)."""

from planner.cli import main

raise SystemExit(main())
