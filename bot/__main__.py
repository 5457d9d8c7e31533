"""``python -m bot`` runs the ``planbot`` command line."""

import sys

from bot.cli import main

sys.exit(main())
