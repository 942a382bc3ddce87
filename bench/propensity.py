"""Purchase-propensity models compared on the customer simulation, into docs/crm.md.

`make bench-propensity` runs ``python -m crm simulate`` (100,000 customers) and then this, which
trains the three models on the latest leakage-free split (crm/insights/propensity.py), saves the
LightGBM model for `crm score` and writes the table between the ``propensity`` markers.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from bench.report import write_block
from crm.tools.propensity_cli import DEFAULT_MODEL_DIR, train


def main() -> int:
    """Train, save, and write the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("var/simulation.db"))
    parser.add_argument("--model-out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--write", type=Path, help="Markdown file to write the table into")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    code, table = train(args.data, args.model_out)
    if code == 0 and args.write:
        write_block(args.write, "propensity", table)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
