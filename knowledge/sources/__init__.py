"""Turn source files (Markdown, HTML, plain text, PDF, FAQ tables) into `Document`s.

Every format is reduced to one small Markdown-like body: `#` heading lines, paragraphs separated
by blank lines and `- ` list items. The chunker, the embedder and the index then never need to
know where a text came from, and no markup or page furniture (menus, cookie banners, scripts)
ends up in a passage that is quoted to a customer.

`folder` reads files and folders (`read_file`, `read_paths`), handing each file to the reader
for its suffix: `markdown`, `html`, `text` (plain text), `pdf`, or `faq` (CSV and JSONL tables).
`document` holds what they all share: `Document`, `SourceError`, ids, content hashes and the
body format. The readers import only `document`, never each other.
"""

from __future__ import annotations

from knowledge.sources.document import Document, SourceError, with_questions
from knowledge.sources.folder import SUFFIXES, read_file, read_paths

__all__ = ["SUFFIXES", "Document", "SourceError", "read_file", "read_paths", "with_questions"]
