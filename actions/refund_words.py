"""What a refund request says in the customer's own words: why, and for which item.

Customers usually say why they want their money back in the same breath: "the lamp arrived
cracked", "it's not quite what I expected", "only one of the two towels arrived", "two of the
side panels are split", "I changed my mind". The refund form keeps such words as the reason and
does not ask "What's the reason for the refund?" again. A bare request ("I want my money back",
"refund order 100104 please") says nothing of why, and the form asks.

The reasons the returns articles deal with: an item damaged or faulty, wrong, missing, not as
described, not fitting, late, or no longer wanted. Hurried typing ("crakced", "damged") is read
as the word meant, the way order descriptions are (`actions/order_refs.py`).

A request may also be for one item of the order ("a refund for the KETTLE ONLY", "refund the
missing towel"): `units_asked` reads how many of it, and `only_that_item` whether the customer
said the rest of the order is not part of it.
"""

from __future__ import annotations

import re
from typing import Final

from actions.order_refs import one_slip

# Damaged or faulty: what the item is, or what it no longer does.
_DAMAGED: Final = (
    r"damaged?|broken|broke|faulty|defective|defect|fault|chip(?:ped|s)?|crack(?:ed|s)?|"
    r"leak(?:s|ing|ed|y)?|dent(?:ed|s)?|smashed|shattered|torn|ripped|stain(?:ed|s)?|"
    r"scratch(?:ed|es)?|split|snapped|bent|crushed|warped|rust(?:y|ed|ing)?|peel(?:ed|ing)|"
    r"mou?ldy?|frayed|wobbly|unusable|useless|in pieces|fell apart|falling apart|came apart|"
    r"stopped working|not working|(?:doesn'?t|does not|won'?t|will not|isn'?t|is not) "
    r"(?:work|working|heat|heating|switch on|turn on|close|open|lock|stay shut|usable)|"
    r"not (?:really )?usable|not fit for purpose|poor(?:ly made)?|cheaply made|flimsy|"
    r"(?:bad|low|terrible|awful|shoddy) quality"
)
# Wrong or missing: not what was ordered, or not all of it.
_WRONG_OR_MISSING: Final = (
    r"wrong|not what i (?:ordered|bought|paid for)|missing|incomplete|never (?:arrived|came|"
    r"turned up|got it)|(?:didn'?t|did not|hasn'?t|has not|haven'?t|have not) (?:arrive|arrived|"
    r"come|turn(?:ed)? up|receive|received|get|got)|only (?:one|two|three|half|\d+|some)\b.{0,40}"
    r"\b(?:arrived|came|turned up|(?:was|were) (?:in|delivered)|in the (?:box|parcel))|"
    r"(?:charged|paid) for (?:two|three|\d+|both)"
)
# Not as described, or not right for the customer.
_NOT_AS_DESCRIBED: Final = (
    r"(?:not|isn'?t|wasn'?t|aren'?t|weren'?t) (?:quite |really |exactly |at all )?(?:what|how) "
    r"(?:i|we) (?:expected|imagined|thought|wanted|had in mind|pictured)|"
    r"not (?:quite )?as (?:described|pictured|advertised|shown|expected)|"
    r"(?:looks|look|is|are) (?:nothing|different|not) like|different (?:from|to|than) (?:the|what)|"
    r"disappoint\w*|(?:smaller|bigger|larger|darker|lighter|thinner|heavier) than|"
    r"(?:doesn'?t|does not|don'?t|didn'?t|won'?t) fit|too (?:big|small|large|short|long|tight|"
    r"loose|wide|narrow|heavy|bright|dark)|"
    r"(?:don'?t|do not|didn'?t) (?:like|suit|match|go with)"
)
# No longer wanted, or late.
_NOT_WANTED: Final = (
    r"chang(?:ed|e) (?:my|our) minds?|change of heart|(?:don'?t|do not|no longer|doesn'?t|"
    r"does not) (?:need|want|use)|not needed|(?:ordered|bought|got) (?:it |them |this |these )?"
    r"(?:by mistake|twice|in error|accidentally)|duplicate|by mistake|found (?:it )?cheaper|"
    r"(?:arrived|came|turned up) (?:too |far too |very )?late|too late|took (?:too|far too) long"
)
_REASON: Final = re.compile(
    rf"\b(?:{_DAMAGED}|{_WRONG_OR_MISSING}|{_NOT_AS_DESCRIBED}|{_NOT_WANTED})\b", re.I
)
# The words whose slips are read as meant ("crakced" -> "cracked"): the reasons' key words.
_CUE_WORDS: Final = frozenset(
    {
        "arrived",
        "broken",
        "cracked",
        "damaged",
        "defective",
        "dented",
        "expected",
        "described",
        "faulty",
        "missing",
        "scratched",
        "shattered",
        "smashed",
        "stained",
        "stopped",
        "working",
        "changed",
        "ordered",
        "received",
        "chipped",
        "leaking",
    }
)


def spelled(text: str) -> str:
    """`text` with the slips of a hurried typist in a reason's key words put right."""

    def right(match: re.Match[str]) -> str:
        word = match.group(0)
        lowered = word.lower()
        if len(word) < 5 or lowered in _CUE_WORDS:
            return word
        return next((cue for cue in sorted(_CUE_WORDS) if one_slip(lowered, cue)), word)

    return re.sub(r"[A-Za-z]+", right, text)


def gives_reason(text: str) -> bool:
    """True if the words say why the customer wants a refund, not only that they want one."""
    return bool(_REASON.search(spelled((text or "").replace("’", "'"))))


_NUMBERS: Final = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
# "both of them", "all the mugs": every unit of the line.
_EVERY_UNIT: Final = re.compile(r"\b(?:both|all (?:of )?(?:the|my|them|those|these))\b", re.I)
# "the missing one", "one of them", "only one arrived": a single unit.
_ONE_UNIT: Final = re.compile(r"\b(?:missing one|one of (?:the|them|my|those)|only one)\b", re.I)
# "the kettle only", "just the throw", "the rest of the order is fine": not the whole order.
_ONLY: Final = re.compile(
    r"\b(?:only|just)\b|\bthe rest\b|\b(?:missing|broken|damaged|faulty) one\b|\bone of\b", re.I
)


def units_asked(text: str, product_name: str) -> int | None:
    """How many of the product the request is about: a number, 1, or None for every unit.

    "two of the mugs" is 2; "the missing one" 1; "both" or the product's name in the plural
    ("the towels are torn") every unit; otherwise one.
    """
    if _ONE_UNIT.search(text):
        return 1
    if _EVERY_UNIT.search(text):
        return None
    last = re.escape(product_name.split()[-1].lower())
    counted = re.search(
        rf"\b(\d+|{'|'.join(_NUMBERS)})\s+(?:of (?:the|my) )?(?:\w+\s+){{0,3}}?{last}s?\b",
        text,
        re.I,
    )
    if counted:
        word = counted.group(1).lower()
        return int(word) if word.isdigit() else _NUMBERS[word]
    if re.search(rf"\b{last}(?:s|es)\b", text, re.I):
        return None
    return 1


def only_that_item(text: str) -> bool:
    """True if the request says it is for that item and not the rest of the order."""
    return bool(_ONLY.search(text))
