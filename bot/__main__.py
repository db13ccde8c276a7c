"""`python -m bot` is the same as the `branchbot` command."""

import sys

from bot.cli import main

sys.exit(main())
