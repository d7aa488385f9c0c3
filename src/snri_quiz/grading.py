"""Grading a learner's response. Pure functions, no I/O.

Typed and cloze answers are graded by what the answer *is* (its `AnswerType`): a number
must be exactly right (the unit may be left out), an enzyme name or a chemical prefix
must be exact, a drug name may carry a small typo but never be another drug's name,
and a free term may carry a small typo in a word that is not itself another word the
deck uses (`hypertension` is never a typo of `hypotension`). Typo tolerance is never
applied to digits.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from .facts import Deck, normalize
from .kinds import AnswerType, QuestionKind
from .questions import LETTERS, Question

if TYPE_CHECKING:
    from fsrs import Rating

MAX_RESPONSE = 500
"""Longer responses are refused before grading (grading must stay a matter of milliseconds)."""


@dataclass(frozen=True)
class Grade:
    """The verdict on one response."""

    correct: bool
    """True when the response is accepted (a tolerated typo included)."""
    typo: bool = False
    """True when it was accepted only as a near miss."""
    matched: str = ""
    """The accepted answer it matched."""
    reason: str = ""
    """Why it was refused, when that helps (another drug, a number that must be exact...)."""

    @property
    def rating(self) -> Rating:
        """The verdict as fsrs rates a review: wrong is Again, an accepted typo Hard, else Good."""
        from fsrs import Rating

        if not self.correct:
            return Rating.Again
        return Rating.Hard if self.typo else Rating.Good


# ---------------------------------------------------------------------------- words
_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
        " sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_UNITS = {
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days", "daily"), "days"),
    **dict.fromkeys(("wk", "wks", "week", "weeks"), "weeks"),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("mo", "month", "months"), "months"),
    **dict.fromkeys(("y", "yr", "yrs", "year", "years"), "years"),
    **dict.fromkeys(("mg", "milligram", "milligrams"), "mg"),
}
# Never part of what an answer means: articles, hedges, "per" in "mg per day".
_UNIT_NAMES = frozenset(_UNITS.values())
_FILLERS = frozenset({"a", "an", "the", "about", "approximately", "approx", "around", "roughly", "per", "ca"})
# Words whose swap changes the meaning although they look alike (never typos of each other).
_CONTRASTS = (
    ("hyper", "hypo"),
    ("tachy", "brady"),
    ("increas", "decreas"),
    ("pre", "post"),
    ("intra", "extra"),
    ("micro", "macro"),
    ("inhibit", "induc"),
    ("agonist", "antagonist"),
    ("once", "twice"),
)
_TOKEN = re.compile(r"\d+\.\d+|[^\W_]+")
_NUMERIC = re.compile(r"\d+(?:\.\d+)?")
_GLUED_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([a-z]+)$")
_ENZYME = re.compile(r"^(?:cyp)?(\d{1,2}[a-z]{1,2}\d{1,2}[a-z]?)$")
# a locant prefix: O-, N-, N,N-, 4-, (S)-, (1S,2R)-
_CHEMICAL = re.compile(r"^\s*(\([^()\s]{1,8}\)|[a-z]|\d{1,2}|[a-z0-9]{1,3}(?:,[a-z0-9]{1,3})+)-(\w{4,}.*)$")
_CONNECTORS = frozenset({"and", "&"})


def clean(text: str) -> str:
    """Unicode-normalised lowercase text (ligatures, full-width digits and the like folded)."""
    return unicodedata.normalize("NFKC", text).lower()


def _merge_number_words(words: list[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        if word in _NUMBER_WORDS:
            value = _NUMBER_WORDS[word]
            if out and out[-1].isdigit() and int(out[-1]) in _TENS.values() and value < 10:
                out[-1] = str(int(out[-1]) + value)  # "twenty one" -> 21
                continue
            out.append(str(value))
        elif word in _TENS:
            out.append(str(_TENS[word]))
        else:
            out.append(word)
    return out


@functools.lru_cache(maxsize=1 << 14)
def tokens(text: str) -> tuple[str, ...]:
    """The comparison form of an answer: words and numbers, number words as digits, units folded,
    articles and hedges dropped; `to` between two numbers (a range) dropped too."""
    raw: list[str] = []
    for word in _TOKEN.findall(clean(text).replace("&", " and ")):
        glued = _GLUED_UNIT.match(word)
        if glued and glued.group(2) in _UNITS:
            raw.extend(glued.groups())  # "80mg" -> "80", "mg"
        else:
            raw.append(word)
    words = _merge_number_words(raw)
    out: list[str] = []
    for i, word in enumerate(words):
        if word in _FILLERS:
            continue
        if word == "to" and 0 < i < len(words) - 1 and _is_number(words[i - 1]) and _is_number(words[i + 1]):
            continue
        out.append(_UNITS.get(word, word))
    return tuple(out)


def squash(text: str) -> str:
    """tokens() joined: 'Venla-faxine' = 'venlafaxine', 'seven days' = '7days'."""
    return "".join(tokens(text))


def _is_number(token: str) -> bool:
    return _NUMERIC.fullmatch(token) is not None


def _has_digit(token: str) -> bool:
    return any(c.isdigit() for c in token)


def _number(token: str) -> Decimal:
    try:
        return Decimal(token).normalize()
    except InvalidOperation:  # pragma: no cover - _TOKEN only yields digit runs here
        return Decimal(-1)


def allowed_typos(answer: str) -> int:
    """How many edits a typed word or name may be off by, scaled to its length."""
    length = len(answer.replace(" ", ""))
    if length <= 4:
        return 0
    if length <= 8:
        return 1
    return 2


def edit_distance(a: str, b: str, cutoff: int | None = None) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, adjacent swaps);
    with `cutoff`, any distance above it is reported as cutoff + 1."""
    from rapidfuzz.distance import OSA

    return int(OSA.distance(a, b, score_cutoff=cutoff))


def _contrasting(a: str, b: str) -> bool:
    return any((a.startswith(x) and b.startswith(y)) or (a.startswith(y) and b.startswith(x)) for x, y in _CONTRASTS)


# ------------------------------------------------------------------------- lexicon
@dataclass(frozen=True)
class Name:
    """A drug name the grader knows."""

    subject: str
    """The drug it names (lowercase generic name)."""
    brand: bool
    """True for a brand name, False for the generic name or one of its aliases."""


class Lexicon:
    """What the grader knows of a deck: every drug and brand name, and every word its facts use.

    Built once per session; the word list is only read when a near miss needs checking.
    """

    def __init__(self, deck: Deck | None = None, *, names: dict[str, Name] | None = None):
        self._deck = deck
        self.names: dict[str, Name] = dict(names or {})
        """squash(name) -> the drug it names."""
        if deck is not None:
            for drug in deck.drugs:
                for text in (drug.subject, drug.name, *drug.aliases):
                    self.names[squash(text)] = Name(drug.subject, False)
            for fact in deck.facts:
                if fact.attribute in deck.brand_attributes:
                    for text in (fact.text, *fact.aliases):
                        self.names.setdefault(squash(text), Name(fact.subject, True))
        self._name_list = list(self.names)

    @functools.cached_property
    def words(self) -> frozenset[str]:
        """Every word in the deck's facts: a response word that is one of them is a word, not a typo."""
        found: set[str] = set()
        if self._deck is not None:
            for fact in self._deck.facts:
                for text in (fact.text, *fact.aliases, fact.answer, *fact.distractors, *fact.key_terms):
                    found.update(t for t in tokens(text) if not _is_number(t))
        for name in self.names:
            found.add(name)
        return frozenset(found)

    def near(self, given: str, distance: int) -> list[tuple[str, Name, int]]:
        """Known names within `distance` edits of `given` (a squashed form), nearest first."""
        from rapidfuzz import process
        from rapidfuzz.distance import OSA

        found = process.extract(given, self._name_list, scorer=OSA.distance, score_cutoff=distance, limit=None)
        return sorted(((n, self.names[n], int(d)) for n, d, _ in found), key=lambda x: (x[2], x[0]))


# -------------------------------------------------------------------- answer types
def answer_type_of(text: str, lexicon: Lexicon) -> AnswerType:
    """The type of one accepted answer, inferred from its form."""
    parts = [p for p in tokens(text) if p not in _CONNECTORS]
    if parts and all(_ENZYME.match(p) for p in parts):
        return AnswerType.ENZYME
    if _CHEMICAL.match(clean(text)):
        return AnswerType.CHEMICAL
    if _drug_pieces(text, lexicon) is not None:
        return AnswerType.DRUG
    if any(_is_number(p) for p in parts):
        return AnswerType.NUMBER
    return AnswerType.TERM


def _pieces(text: str) -> list[str]:
    """The parts of a list answer ('duloxetine and milnacipran', 'a, b & c'), squashed."""
    return [piece for piece in (squash(p) for p in re.split(r",|\band\b|&", clean(text))) if piece]


def _drug_pieces(text: str, lexicon: Lexicon) -> list[str] | None:
    """The names in 'duloxetine and milnacipran' (squashed), when every piece is a known name."""
    pieces = _pieces(text)
    if pieces and all(p in lexicon.names for p in pieces):
        return pieces
    return None


# ------------------------------------------------------------------------ matchers
@dataclass(frozen=True)
class _Match:
    typo: bool
    reason: str = ""


def _match_number(given: tuple[str, ...], answer: tuple[str, ...], lexicon: Lexicon) -> _Match | None:
    numbers = [_number(t) for t in given if _is_number(t)]
    if not numbers:
        return None
    if numbers != [_number(t) for t in answer if _is_number(t)]:
        return _Match(False, "numbers must be exact")
    words = {t for t in answer if not _is_number(t)}
    typo = False
    for word in (t for t in given if not _is_number(t) and t not in words):
        if word in _UNIT_NAMES:
            return _Match(False, "the unit is not right")
        if not any(_typo_of(word, target, lexicon) is not None for target in words):
            return None  # a word the answer does not have ("twice" for "once daily")
        typo = True
    return _Match(typo)


def _enzymes(parts: Iterable[str]) -> set[str] | None:
    found: set[str] = set()
    joined = " ".join(parts).replace("cyp ", "cyp")  # "CYP 2D6"
    for part in joined.split():
        if part in _CONNECTORS:
            continue
        match = _ENZYME.match(part)
        if not match:
            return None
        found.add(match.group(1))
    return found or None


def _match_enzyme(given: tuple[str, ...], answer: tuple[str, ...]) -> _Match | None:
    mine, theirs = _enzymes(given), _enzymes(answer)
    if mine is None or theirs is None:
        return None
    return _Match(False) if mine == theirs else _Match(False, "enzyme names must be exact")


def _match_chemical(response: str, answer: str, lexicon: Lexicon) -> _Match | None:
    mine, theirs = _CHEMICAL.match(clean(response)), _CHEMICAL.match(clean(answer))
    if theirs is None:
        return None
    if mine is None or squash(mine.group(1)) != squash(theirs.group(1)):
        stem = squash(mine.group(2)) if mine else squash(response)
        if edit_distance(stem, squash(theirs.group(2)), 2) <= 2:
            return _Match(False, "the prefix (O-, N-, ...) must be exact")
        return None
    given_stem, stem = squash(mine.group(2)), squash(theirs.group(2))
    if given_stem == stem:
        return _Match(False)
    distance = edit_distance(given_stem, stem, allowed_typos(stem))
    if distance > allowed_typos(stem):
        return None
    return _Match(True)


def _match_drug(response: str, answer: str, lexicon: Lexicon) -> _Match | None:
    wanted = _drug_pieces(answer, lexicon)
    if wanted is None:
        return None
    pieces = _pieces(response)
    if len(pieces) != len(wanted):
        return None
    typo, remaining = False, list(wanted)
    for piece in pieces:
        if piece in remaining:
            remaining.remove(piece)
            continue
        best = min(remaining, key=lambda w: edit_distance(piece, w, 3))
        distance = edit_distance(piece, best, allowed_typos(best))
        if distance > allowed_typos(best) or piece in lexicon.names:
            return None
        target = lexicon.names[best]
        # a near miss that is as near to another drug's name is not a typo of ours
        if any(name.subject != target.subject for _, name, _ in lexicon.near(piece, distance)):
            return None
        remaining.remove(best)
        typo = True
    return _Match(typo)


def _guarded(word: str, target: str) -> bool:
    """True when `word` may not stand for `target` as a typo: digits, enzyme names, contrasting prefixes."""
    return _has_digit(word) or _has_digit(target) or _contrasting(word, target)


def _typo_of(word: str, target: str, lexicon: Lexicon) -> int | None:
    """The edits by which `word` misses `target`, when it may count as a typo of it; else None."""
    if _guarded(word, target) or word in lexicon.names:
        return None
    if word.rstrip("s") == target.rstrip("s") and min(len(word), len(target)) >= 3:
        return 0  # the plural (or singular) of the word: not even a typo
    if word in lexicon.words:
        return None  # a real, different word
    budget = allowed_typos(target)
    distance = edit_distance(word, target, budget)
    return distance if distance <= budget else None


def _match_term(given: tuple[str, ...], answer: tuple[str, ...], lexicon: Lexicon) -> _Match | None:
    if len(given) != len(answer) or not given:
        return None
    spent = 0
    for word, target in zip(given, answer, strict=True):
        if word == target:
            continue
        distance = _typo_of(word, target, lexicon)
        if distance is None:
            return None
        spent += distance
    if spent > allowed_typos("".join(answer)):
        return None
    return _Match(True)


# -------------------------------------------------------------------------- grading
def grade_typed(
    response: str,
    accepted: Sequence[str],
    lexicon: Lexicon,
    *,
    answer_type: str = "",
    key_terms: Sequence[str] = (),
) -> Grade:
    """Grade a typed answer against the accepted answers (the first is the answer itself)."""
    if len(response) > MAX_RESPONSE:
        return Grade(False, reason=f"answers are at most {MAX_RESPONSE} characters")
    given = tokens(response)
    if not given:
        return Grade(False)
    candidates = [a for a in (*accepted, *key_terms) if tokens(a)]
    for answer in candidates:
        if given == tokens(answer):
            return Grade(True, matched=answer)
    reason = ""
    for index, answer in enumerate(candidates):
        declared = answer_type if index == 0 and answer_type else ""
        kind = AnswerType(declared) if declared else answer_type_of(answer, lexicon)
        match = _match_as(kind, response, given, answer, lexicon)
        if match is None:
            continue
        if match.reason:
            reason = reason or match.reason
            continue
        return Grade(True, typo=match.typo, matched=answer)
    return Grade(False, reason=_name_reason(response, accepted, lexicon) or reason)


def _match_as(kind: AnswerType, response: str, given: tuple[str, ...], answer: str, lexicon: Lexicon) -> _Match | None:
    if kind is AnswerType.NUMBER:
        return _match_number(given, tokens(answer), lexicon)
    if kind is AnswerType.ENZYME:
        return _match_enzyme(given, tokens(answer))
    if kind is AnswerType.CHEMICAL:
        return _match_chemical(response, answer, lexicon)
    if kind is AnswerType.DRUG:
        return _match_drug(response, answer, lexicon)
    return _match_term(given, tokens(answer), lexicon)


def _name_reason(response: str, accepted: Sequence[str], lexicon: Lexicon) -> str:
    """Why a drug name that is not accepted is wrong: another drug, or the right drug in the wrong form."""
    name = lexicon.names.get(squash(response))
    if name is None:
        return ""
    wanted = [lexicon.names[p] for a in accepted for p in (_drug_pieces(a, lexicon) or [])]
    if not wanted:
        return ""
    shown = response.strip()
    if any(w.subject == name.subject for w in wanted):
        if all(w.brand for w in wanted):
            return f"right drug, but the question asks for a brand name, not '{shown}'"
        if name.brand:
            return f"right drug, but the question asks for the generic name, not the brand '{shown}'"
        return ""
    if name.brand:
        return f"'{shown}' is a brand of {name.subject}, a different drug"
    return f"'{shown}' is a different drug"


def parse_choice(question: Question, response: str) -> int | None:
    """The option index a multiple-choice or true/false response names, or None.

    A single letter always means a position, even when an option's text is a letter."""
    text = response.strip()
    given = normalize(text)
    if question.kind == QuestionKind.TF:
        if given in ("t", "true"):
            return 0
        if given in ("f", "false"):
            return 1
        return None
    letters = LETTERS[: len(question.options)]
    if len(text) == 1 and text.upper() in letters:
        return letters.index(text.upper())
    if len(given) <= 1:
        return None
    for index, option in enumerate(question.options):
        if given == normalize(option):
            return index
    return None


def grade(question: Question, response: str, lexicon: Lexicon) -> Grade | None:
    """Grade a response, or None when it is not a valid answer form (ask again)."""
    if QuestionKind(question.kind).has_options:
        index = parse_choice(question, response)
        if index is None:
            return None
        return Grade(index == question.answer_index, matched=question.options[index])
    if not response.strip():
        return None
    return grade_typed(
        response, question.accepted, lexicon, answer_type=question.answer_type, key_terms=question.key_terms
    )
