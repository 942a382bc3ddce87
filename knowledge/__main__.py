"""`python -m knowledge ...` is the `kb` command (knowledge/cli.py)."""

import sys

from knowledge.cli import main

sys.exit(main())
