"""What the Rasa components built on the exported encoder share: loading it and its fingerprint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.shared.exceptions import InvalidConfigException

from encoder.sentence import MANIFEST_FILE, EncoderMissing, SentenceEncoder


class UsesEncoder:
    """Mixed into a graph component whose config names the encoder in `model_dir`."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """A re-exported encoder invalidates what Rasa cached or trained with the old one."""
        manifest = Path(str(config.get("model_dir") or "")) / MANIFEST_FILE
        return manifest.read_text() if manifest.is_file() else None

    @classmethod
    def load_encoder(cls, config: dict[str, Any], threads: int | None = None) -> SentenceEncoder:
        """The encoder, or Rasa's config error saying how to build it (at load, not per message)."""
        try:
            return SentenceEncoder(
                Path(str(config.get("model_dir") or "")),
                threads=threads or int(config.get("threads") or 1),
            )
        except EncoderMissing as error:
            raise InvalidConfigException(f"{cls.__name__}: {error}") from error
