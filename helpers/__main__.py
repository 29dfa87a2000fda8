"""``python -m helpers ...``: the course's command line (see :mod:`helpers.cli`)."""
from helpers.cli import main

raise SystemExit(main())
