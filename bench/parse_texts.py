"""Parse texts with the agent's trained model; run in the Rasa venv by `bench.kb_blind --nlu`.

    python -m bench.parse_texts --model models/larkspur.tar.gz --texts IN.json --out OUT.json

Reads a JSON list of texts and writes the JSON list of their top intents, parsed one at a time
as `bench.nlu_blind` does. A file, not stdout: Rasa logs there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from bench.nlu_blind import parse_all


def main() -> None:
    """Parse every text and write the intents."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    parsed, _ = asyncio.run(parse_all(args.model, texts))
    # parse_all gives each text's intent with its ranking; the knowledge bench needs the intent.
    args.out.write_text(json.dumps([intent for intent, _ranking in parsed]), encoding="utf-8")


if __name__ == "__main__":
    main()
