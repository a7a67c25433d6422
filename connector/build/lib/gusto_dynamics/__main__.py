"""`python -m gusto_dynamics` = the `gusto-dynamics` command."""

from gusto_dynamics.cli import main

raise SystemExit(main())
