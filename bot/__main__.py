"""``python -m bot`` runs the ``planbot`` command line."""

import sys

from bot.service.cli import main

sys.exit(main())
