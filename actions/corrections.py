"""A correction of one part of a detail read back: "it's Ancoats Street not Road".

At a read-back, customers correct only the words that were wrong and leave the rest ("same
number and postcode"). `swap_correction` applies such a correction to the detail read back, so
the form can check it and read it back again, instead of asking for the whole detail anew.
"""

from __future__ import annotations

import re

_WORD = r"[\w'£@-]+(?:\.\d+)?"
# Where the corrected words stop: punctuation, or words that start another clause.
_END = r"(?=\s*(?:[,.;:!?]|$|\b(?:same|and|but|please|pls|thanks|though)\b))"
# "Ancoats Street not Road", "Street instead of Road", "flat 3 rather than flat 4".
_NEW_NOT_OLD = re.compile(
    rf"(?P<new>{_WORD}(?:\s+{_WORD}){{0,5}})\s*,?\s+(?:not|instead of|rather than)\s+"
    rf"(?:the\s+)?(?P<old>{_WORD}(?:\s+{_WORD}){{0,4}}?){_END}",
    re.I,
)
# "not Road, Street", "not Road but Street", "not Road it's Street".
_NOT_OLD_NEW = re.compile(
    rf"\bnot\s+(?:the\s+)?(?P<old>{_WORD}(?:\s+{_WORD}){{0,4}}?)\s*(?:,|\bbut\b|\bit'?s\b|-)\s*"
    rf"(?:it'?s\s+|the\s+)?(?P<new>{_WORD}(?:\s+{_WORD}){{0,4}}?){_END}",
    re.I,
)
# Words that open the correction rather than belong to the new words.
_LEAD = {
    "it",
    "its",
    "it's",
    "is",
    "sorry",
    "wait",
    "oh",
    "no",
    "yes",
    "i",
    "meant",
    "mean",
    "actually",
    "should",
    "be",
    "the",
    "oops",
    "hang",
    "on",
    "ah",
    "um",
    "er",
    "that",
}


def swap_correction(text: str, current: str) -> str | None:
    """`current` with the words the customer takes back replaced by the ones they give.

    None if the message corrects nothing in `current`: the words taken back are not in it, or
    the new words are the same.
    """
    for pattern in (_NEW_NOT_OLD, _NOT_OLD_NEW):
        for match in pattern.finditer(text or ""):
            swapped = _swap(match.group("new"), match.group("old"), current)
            if swapped is not None:
                return swapped
    return None


def _swap(new: str, old: str, current: str) -> str | None:
    """Replace `old` in `current` with as many of the last words of `new` as `old` has."""
    old_words = old.split()
    new_words = new.split()
    while new_words and new_words[0].lower() in _LEAD:
        new_words = new_words[1:]
    if not new_words:
        return None
    # "Ancoats Street not Road": the new words that stand for "Road" are the last ones.
    replacement = " ".join(new_words[-len(old_words) :])
    found = re.search(rf"(?<![\w]){re.escape(old)}(?![\w])", current, re.I)
    if found is None or replacement.casefold() == old.casefold():
        return None
    return current[: found.start()] + replacement + current[found.end() :]


# "actually no hang on, leave it", "never mind, I'll keep them": the request taken back.
_TAKES_BACK = re.compile(
    r"\b(?:leave it|leave them|leave that|forget it|forget that|never ?mind|nevermind|"
    r"don'?t bother|no need|scrap that|i'?ll keep (?:it|them|getting them)"
    r"|keep (?:it|them) (?:for now|coming|then))\b",
    re.I,
)


def takes_back(text: str) -> bool:
    """True if the message takes back the request under way rather than answers its question."""
    return bool(_TAKES_BACK.search(text or ""))
