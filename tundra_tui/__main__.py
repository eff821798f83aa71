"""`python -m tundra_tui` runs the `tundra` command."""

import sys

from .commands import main

sys.exit(main())
