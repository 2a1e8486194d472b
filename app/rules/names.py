"""Accent- and case-insensitive keys of people's names: how they are searched and sorted.

A name is searched and sorted by its *key*: the name folded (lower case, accents and ligatures
dropped, ``ß`` -> ``ss``), hyphens, apostrophes and dots read as spaces, spaces collapsed. Keys
compare byte by byte, which gives the French dictionary order of names (GÉRARD, Gérard and
gerard side by side, before GUÉRIN, then Günther; Émile with the E) in every database, whatever
its locale, and lets one btree index serve both the prefix search and the sort.
"""

from .formatting import fold

# Letters that Unicode decomposition leaves whole (fold already handles œ, æ and ß).
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"})
# Read as a space between two words: hyphens and dashes, apostrophes, dots, underscores.
_SEPARATORS = str.maketrans(
    {char: " " for char in "-\u2010\u2011\u2012\u2013\u2014\u2212'\u2019\u2018\u02bc`´._,"}
)

# The key columns hold at most this many characters (two 100-character names and a space,
# which folding may lengthen: ß -> ss, œ -> oe).
KEY_LENGTH = 300


def name_key(*parts: str | None) -> str:
    """The search and sort key of a name given in parts (name, then first name).

    Source: SPEC.md C2 (agents searchable by name); issue 10 (« gerard » finds GÉRARD, French
    collation: GÉRARD before GUÉRIN).
    """
    text = " ".join(part for part in parts if part)
    folded = fold(text).translate(_LETTERS).translate(_SEPARATORS)
    return " ".join(folded.split())[:KEY_LENGTH]


def agent_name_keys(
    birth_name: str | None, usage_name: str | None, first_name: str | None
) -> tuple[str, str | None]:
    """The keys of an agent: the name shown (usage name, else birth name) with the first name,
    and the birth name with the first name when a different usage name hides it (else None).

    Source: SPEC.md C2 (the agent is shown under the usage name; birth name kept).
    """
    shown = name_key(usage_name or birth_name, first_name)
    if not usage_name or name_key(usage_name) == name_key(birth_name):
        return shown, None
    return shown, name_key(birth_name, first_name)


def prefix_bounds(text: str) -> tuple[str, str | None] | None:
    """The half-open range ``[low, high)`` of the keys that start with the typed text's key;
    ``high`` is None when no key is above the range. None when the text has no letter to search.

    Source: issue 9 (a prefix search must be an index range, in both databases).
    """
    low = name_key(text)
    if not low:
        return None
    last = ord(low[-1])
    if last >= 0x10FFFF:
        return low, None
    following = last + 1 if not 0xD7FF <= last < 0xE000 else 0xE000  # skip the surrogates
    return low, low[:-1] + chr(following)
