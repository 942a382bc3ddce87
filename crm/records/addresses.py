"""Parse and validate a delivery address typed by a customer in a chat.

Customers type addresses on one line or several, separated by commas or new lines, in the
order "line1[, line2], city, postcode[, country]"; a continental "75001 Paris" or British
"Manchester M4 6AB" in one part is accepted too. Errors name the one field that is wrong
(:class:`InvalidAddress`) so the assistant can ask again for just that part. Reasons never
repeat what the customer typed, because exception messages end up in logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, TypedDict

from crm.records.errors import CRMError

AddressField = Literal["format", "line1", "city", "postcode", "country"]

SHIPPING_COUNTRIES: Final = ("GB", "IE", "DE", "FR", "NL")

_COUNTRY_NAMES: Final[dict[str, str]] = {
    "gb": "GB",
    "uk": "GB",
    "u.k.": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "ie": "IE",
    "ireland": "IE",
    "republic of ireland": "IE",
    "eire": "IE",
    "éire": "IE",
    "de": "DE",
    "germany": "DE",
    "deutschland": "DE",
    "fr": "FR",
    "france": "FR",
    "nl": "NL",
    "netherlands": "NL",
    "the netherlands": "NL",
    "holland": "NL",
    "nederland": "NL",
}

# Cities customers name instead of the country (the `place` lookup of data/nlu/lookups.yml): the
# delivery rules place a question by them, and an address without a country gets theirs
# ("8 rue Oberkampf, 75011 Paris" is in France, not a bad British postcode).
CITY_COUNTRIES: Final = {
    "london": "GB", "manchester": "GB", "belfast": "GB", "edinburgh": "GB", "glasgow": "GB",
    "cardiff": "GB", "dublin": "IE", "cork": "IE", "galway": "IE", "limerick": "IE",
    "berlin": "DE", "munich": "DE", "hamburg": "DE", "paris": "FR", "lyon": "FR",
    "amsterdam": "NL", "rotterdam": "NL",
}  # fmt: skip

# Full UK postcode grammar (including GIR 0AA), space optional; see the Royal Mail PAF guide.
_GB = (
    r"(?:GIR ?0AA|(?:[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9][0-9ABEHMNPRV-Y]?|[A-HK-Y][0-9]"
    r"|[0-9][A-HJKPSTUW])) ?[0-9][ABD-HJLNP-UW-Z]{2})"
)
# Eircode: routing key (letter + two digits, or D6W) and a four-character unique identifier.
_IE = r"(?:[AC-FHKNPRTV-Y][0-9]{2}|D6W) ?[0-9AC-FHKNPRTV-Y]{4}"
_FIVE_DIGITS = r"[0-9]{5}"
# Dutch postcodes: four digits not starting with 0, two letters other than SA, SD and SS.
_NL = r"[1-9][0-9]{3} ?(?!SA|SD|SS)[A-Z]{2}"

_POSTCODE_PATTERNS: Final[dict[str, str]] = {
    "GB": _GB,
    "IE": _IE,
    "DE": _FIVE_DIGITS,
    "FR": _FIVE_DIGITS,
    "NL": _NL,
}

# A line without digits that contains one of these is a bare street: the house is missing.
_STREET_WORDS: Final = frozenset((
    "street", "st", "road", "rd", "way", "lane", "ln", "avenue", "ave", "close", "drive",
    "crescent", "place", "square", "terrace", "grove", "parade", "row", "walk", "hill", "rue",
    "boulevard", "bd", "allée", "chemin", "quai", "impasse", "straße", "strasse", "weg",
    "gasse", "platz", "allee", "straat", "laan", "gracht", "plein", "kade", "singel",
))  # fmt: skip
_STREET_SUFFIXES: Final = (
    "straße", "strasse", "str.", "weg", "gasse", "platz", "allee", "straat", "laan", "gracht",
    "plein", "kade", "singel", "dijk",
)  # fmt: skip
_CITY_RE: Final = re.compile(r"[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?")
_DUBLIN_DISTRICT_RE: Final = re.compile(r"Dublin (?:[1-9]|1[0-8]|20|22|24|6W)", re.IGNORECASE)
_SPLIT_RE: Final = re.compile(r"[,;\n\r]+")
_SPACES_RE: Final = re.compile(r"\s+")


class InvalidAddress(CRMError):
    """The address cannot be used; ``field`` says which part to ask for again."""

    def __init__(self, field: AddressField, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field: AddressField = field
        self.reason = reason


class AddressDict(TypedDict):
    """An address as stored in JSON (audit records) and passed between layers."""

    line1: str
    line2: str | None
    city: str
    postcode: str
    country: str


@dataclass(frozen=True)
class AddressInput:
    """A validated address with its postcode in the country's canonical form."""

    line1: str
    line2: str | None
    city: str
    postcode: str
    country: str

    def formatted(self) -> str:
        """Return the address on one line, e.g. ``12 Ancoats Way, Manchester, M4 6AB, GB``."""
        parts = [self.line1, self.line2, self.city, self.postcode, self.country]
        return ", ".join(part for part in parts if part)

    def as_dict(self) -> AddressDict:
        """Return the fields as a JSON-ready dict (used for audit before/after)."""
        return AddressDict(
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postcode=self.postcode,
            country=self.country,
        )


def normalise_postcode(text: str) -> str:
    """Upper-case a postcode and drop all whitespace, for comparing what people type."""
    return _SPACES_RE.sub("", text).upper()


def format_postcode(text: str, country: str) -> str:
    """Return ``text`` in the canonical form for ``country``, or raise ``InvalidAddress``.

    GB "m46ab" -> "M4 6AB"; IE "d02x285" -> "D02 X285"; NL "1012ab" -> "1012 AB"; DE/FR five
    digits unchanged.
    """
    pattern = _POSTCODE_PATTERNS.get(country)
    if pattern is None:
        raise InvalidAddress("country", "we deliver to GB, IE, DE, FR and NL only")
    compact = normalise_postcode(text)
    if not re.fullmatch(pattern, compact):
        raise InvalidAddress("postcode", f"not a valid postcode for {country}")
    if country in ("GB", "IE", "NL") and compact != "GIR0AA":
        # The inward code (GB), unique identifier (IE) and letters (NL) are the last 3/4/2.
        tail = {"GB": 3, "IE": 4, "NL": 2}[country]
        return f"{compact[:-tail]} {compact[-tail:]}"
    return "GIR 0AA" if compact == "GIR0AA" else compact


def country_code(text: str) -> str | None:
    """Map a country name or ISO-2 code we deliver to onto its code; ``None`` if unknown."""
    return _COUNTRY_NAMES.get(_SPACES_RE.sub(" ", text.strip()).casefold().rstrip("."))


def parse_address(text: str) -> AddressInput:
    """Parse "line1[, line2], city, postcode[, country]" (commas or new lines) and validate it.

    The country defaults to the country of a known city in it ("75011 Paris"), else GB. Raises
    :class:`InvalidAddress` naming the field to re-ask.
    """
    parts = [_SPACES_RE.sub(" ", part).strip() for part in _SPLIT_RE.split(text)]
    parts = [part for part in parts if part]
    if not parts:
        raise InvalidAddress("format", "empty address")

    if len(parts) == 1:  # "5 piccadilly manchester m1 1aa": no commas at all
        parts = _split_unpunctuated(parts[0])
    country = _country_of_city(parts) or "GB"
    if not _has_digit(parts[-1]):
        code = country_code(parts[-1])
        if code is not None:
            country = code
            parts.pop()
        elif len(parts) >= 2 and _contains_any_postcode(parts[-2]):
            # "..., 28001, Spain": the last part sits where a country goes.
            raise InvalidAddress("country", "we deliver to GB, IE, DE, FR and NL only")
        else:
            # "12 Ancoats Way, Manchester": the last part is a town, the postcode is missing.
            raise InvalidAddress("postcode", "missing postcode")

    if len(parts) < 2:
        raise InvalidAddress("format", "expected street, town or city, and postcode")

    city, postcode, lines = _split_city_postcode(parts, country)
    if not lines:
        raise InvalidAddress("format", "expected street, town or city, and postcode")

    line1 = lines[0]
    line2 = ", ".join(lines[1:]) or None
    _check_line1(line1, has_line2=line2 is not None)
    if line2 is not None and len(line2) > 100:
        raise InvalidAddress("format", "address lines are too long")
    _check_city(city, country)
    return AddressInput(line1=line1, line2=line2, city=city, postcode=postcode, country=country)


# Where an address may start inside a sentence: a flat, or a house number of one to four digits
# (an order number has six) followed by a word.
_HOUSE_NUMBER_RE: Final = re.compile(
    r"(?<![\w-])(?:(?:flat|apartment|apt|unit)\s+\d{1,4}[A-Za-z]?\b|\d{1,4}[A-Za-z]?\s+[A-Za-z])",
    re.I,
)
# Where it may end: the end of a sentence or of the message.
_SENTENCE_END_RE: Final = re.compile(
    r"[.!?]+(?=\s|$)|\s+(?:please|thanks|thank you|cheers|instead)\b", re.I
)
# "2 things changed: 14 Canal Street" is not a first line; real first lines are short.
_MAX_LINE1_WORDS: Final = 5


def find_address(text: str) -> AddressInput | None:
    """The first valid address written inside a sentence, or ``None``.

    "Please send order 100102 to 14 Canal Street, Manchester M1 3HE." holds one: it starts at a
    house number and ends where the sentence (or message) does. Nothing is raised: a message
    without a complete address simply has none, and the address is asked for.
    """
    ends = [match.start() for match in _SENTENCE_END_RE.finditer(text)] + [len(text)]
    for start in _HOUSE_NUMBER_RE.finditer(text):
        for end in ends:
            if end <= start.start():
                continue
            try:
                address = parse_address(text[start.start() : end])
            except InvalidAddress:
                continue
            if len(address.line1.split()) <= _MAX_LINE1_WORDS and ":" not in address.line1:
                return address
    return None


def _country_of_city(parts: list[str]) -> str | None:
    """The country of a city named in the last two parts ("75011 Paris", "Lyon"), if known."""
    for part in parts[-2:]:
        words = " ".join(w for w in part.casefold().split() if not _has_digit(w)).strip(" .")
        if words in CITY_COUNTRIES:
            return CITY_COUNTRIES[words]
    return None


def _split_unpunctuated(text: str) -> list[str]:
    """Split "5 piccadilly manchester m1 1aa" into street, town and postcode, if it can be.

    Only a UK postcode at the end is split off, and the town is the known city just before it
    or else the last word: the read-back lets the customer correct a two-word town.
    """
    found = re.fullmatch(rf"(?P<rest>.+?)\s+(?P<postcode>{_GB})", text, re.IGNORECASE)
    if found is None:
        return [text]
    words = found["rest"].split()
    for size in (2, 1):
        if len(words) > size + 1 and " ".join(words[-size:]).casefold() in CITY_COUNTRIES:
            break
    else:
        size = 1
    if len(words) < size + 2 or words[-1].casefold() in _STREET_WORDS:
        return [text]  # a house number and a street at least; "7 beech road" has no town
    return [" ".join(words[:-size]), " ".join(words[-size:]), found["postcode"]]


def _split_city_postcode(parts: list[str], country: str) -> tuple[str, str, list[str]]:
    """Find city and postcode at the end of ``parts``; return them and the remaining lines."""
    pattern = _POSTCODE_PATTERNS[country]
    last = parts[-1]
    if re.fullmatch(pattern, normalise_postcode(last)):
        if len(parts) < 3:
            raise InvalidAddress("format", "expected street, town or city, and postcode")
        return parts[-2], format_postcode(last, country), parts[:-2]

    # "Manchester M4 6AB", "75001 Paris", "1012 AB Amsterdam" in one part.
    flags = re.IGNORECASE
    for candidate in (
        re.fullmatch(rf"(?P<city>.+?)\s+(?P<postcode>{pattern})", last, flags),
        re.fullmatch(rf"(?P<postcode>{pattern})\s+(?P<city>.+)", last, flags),
    ):
        if candidate and _CITY_RE.fullmatch(candidate["city"]):
            return candidate["city"], format_postcode(candidate["postcode"], country), parts[:-1]

    raise InvalidAddress("postcode", f"not a valid postcode for {country}")


def _check_line1(line1: str, *, has_line2: bool) -> None:
    if not 3 <= len(line1) <= 100:
        raise InvalidAddress("line1", "must be 3 to 100 characters")
    if not any(ch.isalpha() for ch in line1):
        raise InvalidAddress("line1", "must include the street or house name")
    if _has_digit(line1):
        return
    # No number: accept a house name ("Rose Cottage"), refuse a bare street ("Ancoats Way").
    words = [word.strip(".").casefold() for word in line1.split()]
    if any(word in _STREET_WORDS or word.endswith(_STREET_SUFFIXES) for word in words):
        raise InvalidAddress("line1", "missing house number or name")


def _check_city(city: str, country: str) -> None:
    if country == "IE" and _DUBLIN_DISTRICT_RE.fullmatch(city):
        return  # "Dublin 2": postal districts are part of the town name in Irish addresses
    if not 2 <= len(city) <= 60 or not _CITY_RE.fullmatch(city):
        raise InvalidAddress("city", "must be 2 to 60 letters")


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _contains_any_postcode(text: str) -> bool:
    upper = text.upper()
    return any(
        re.search(rf"(?<![0-9A-Z]){pattern}(?![0-9A-Z])", upper)
        for pattern in _POSTCODE_PATTERNS.values()
    )
