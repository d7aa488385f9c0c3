"""Which questions a quiz, an export or a build uses: one `Selection` value for all of them."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import UsageError
from .facts import Deck
from .kinds import Level, Mode
from .questions import Question
from .text import visible


@dataclass(frozen=True)
class Selection:
    """The shared options `--mode`, `--topic`, `--drug`, `--level`, `--seed`, `--count` and `--id`."""

    mode: Mode = Mode.MIXED
    """Which kinds of question."""
    topics: tuple[str, ...] = ()
    """Only these topics (none: every topic)."""
    drugs: tuple[str, ...] = ()
    """Only questions about one of these drugs (none: every drug)."""
    levels: tuple[Level, ...] = ()
    """Only these levels (none: every level)."""
    seed: int | None = None
    """Shuffle with this seed; None: the caller's own order (a quiz asks due questions first)."""
    count: int | None = None
    """At most this many questions (None: all)."""
    ids: tuple[str, ...] = ()
    """Exactly these questions, in this order; the filters above do not apply."""

    def __post_init__(self) -> None:
        if self.count is not None and self.count < 1:
            raise UsageError("--count must be at least 1")
        if self.ids and self.seed is not None:
            raise UsageError("--id and --seed cannot be used together")

    def matching(self, bank: Iterable[Question], deck: Deck) -> list[Question]:
        """Every question of the bank these filters let through, in bank order."""
        if self.ids:
            return by_ids(bank, self.ids)
        return filter_questions(bank, deck, mode=self.mode, topics=self.topics, drugs=self.drugs, levels=self.levels)

    def pick(self, bank: Iterable[Question], deck: Deck) -> list[Question]:
        """The questions in seeded order (or the order of `ids`), cut to `count`."""
        if self.ids:
            return by_ids(bank, self.ids)
        return select(
            bank,
            deck,
            seed=self.seed or 0,
            count=self.count,
            mode=self.mode,
            topics=self.topics,
            drugs=self.drugs,
            levels=self.levels,
        )


def by_ids(bank: Iterable[Question], ids: Sequence[str]) -> list[Question]:
    """Exactly the questions named, in that order; an unknown id is a usage error."""
    index = {q.id: q for q in bank}
    unknown = [i for i in ids if i not in index]
    if unknown:
        raise UsageError(f"unknown question id '{visible(unknown[0])}' (see `snri-quiz export --format json`)")
    return [index[i] for i in ids]


def filter_questions(
    bank: Iterable[Question],
    deck: Deck,
    *,
    mode: str = "mixed",
    topics: Iterable[str] = (),
    drugs: Iterable[str] = (),
    levels: Iterable[str] = (),
) -> list[Question]:
    """The bank's questions of these kinds, topics, drugs and levels, in bank order."""
    topics, drugs, levels = tuple(topics), tuple(d.lower() for d in drugs), tuple(levels)
    if mode not in tuple(Mode):
        raise UsageError(f"unknown mode '{mode}' (choose from {', '.join(Mode)})")
    for level in levels:
        if level not in tuple(Level):
            raise UsageError(f"unknown level '{level}' (choose from {', '.join(Level)})")
    kinds = Mode(mode).kinds
    for topic in topics:
        if topic not in deck.topics:
            raise UsageError(f"unknown topic '{topic}' (choose from {', '.join(deck.topics)})")
    known = {d.subject for d in deck.drugs}
    for drug in drugs:
        if drug not in known:
            raise UsageError(f"unknown drug '{drug}' (choose from {', '.join(sorted(known))})")
    return [
        q
        for q in bank
        if q.kind in kinds
        and (not topics or q.topic in topics)
        and (not levels or q.level in levels)
        and (not drugs or any(d in q.drugs for d in drugs))
    ]


def select(
    bank: Iterable[Question],
    deck: Deck,
    *,
    seed: int = 0,
    count: int | None = None,
    mode: str = "mixed",
    topics: Iterable[str] = (),
    drugs: Iterable[str] = (),
    levels: Iterable[str] = (),
) -> list[Question]:
    """The questions for one quiz or printout: filtered, shuffled by `seed`, cut to `count`."""
    pool = filter_questions(bank, deck, mode=mode, topics=topics, drugs=drugs, levels=levels)
    random.Random(seed).shuffle(pool)
    if count is not None:
        if count < 1:
            raise UsageError("--count must be at least 1")
        if count > len(pool):
            raise UsageError(f"--count {count} is more than the {len(pool)} questions available")
        pool = pool[:count]
    return pool
