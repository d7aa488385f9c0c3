"""Which questions a quiz, an export or a build uses: one `Selection` value for all of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import UsageError
from .facts import Deck
from .kinds import Level, Mode
from .questions import Question, filter_questions, select
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
