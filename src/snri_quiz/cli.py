"""The command line: translate options, call one library function, map errors to exit codes.

Heavy libraries (genanki, typst, fsrs, rich) are imported inside the commands that use
them, so `snri-quiz --help` stays instant.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from . import __version__
from .errors import (
    CollectionError,
    InvalidContent,
    MissingDependency,
    OutputError,
    ProgressError,
    ProgressUnavailable,
    SnriQuizError,
    UsageError,
    WriteFailed,
)
from .kinds import ExportFormat, KeyPlacement, Level, Mode
from .text import visible

if TYPE_CHECKING:
    from pathlib import Path

    from .selection import Selection


def _fail(lines: list[str], code: int = 2) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


class _Group(click.Group):
    """Maps the library's exceptions to one-line messages and click's exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except InvalidContent as exc:
            _fail([str(p) for p in exc.problems])
        except (ProgressUnavailable, CollectionError, MissingDependency, WriteFailed) as exc:
            _fail([f"Error: {visible(str(exc))}"], 1)
        except (UsageError, OutputError, ProgressError) as exc:
            _fail([f"Error: {exc}"])
        except SnriQuizError as exc:  # pragma: no cover - every subclass is listed above
            _fail([f"Error: {exc}"], 1)
        except KeyboardInterrupt:
            _fail(["Interrupted."], 130)


def deck_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--deck, for commands that read facts but no templates."""
    return click.option(
        "--deck", "deck", type=click.Path(), default=None, help="Deck folder (default: the bundled SNRI deck)."
    )(func)


def content_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--deck and --templates, shared by every command that makes questions."""

    @deck_option
    @click.option(
        "--templates",
        "templates",
        type=click.Path(),
        default=None,
        help="Templates folder (default: the bundled templates).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


def selection_options(*, count: int | None, seed: int | None, ids: bool, ordered: bool = True) -> Callable[..., Any]:
    """--mode, --topic, --drug, --level, --seed, --count (and for play --id): which questions, the same
    for play, build and every export format (build, unordered, takes no --seed or --count). The
    command receives them as one `selection` argument."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from .selection import Selection

            kwargs["selection"] = Selection(
                mode=Mode(kwargs.pop("mode")),
                topics=kwargs.pop("topics"),
                drugs=kwargs.pop("drugs"),
                levels=tuple(Level(v) for v in kwargs.pop("levels")),
                seed=kwargs.pop("seed", None),
                count=kwargs.pop("count", None),
                ids=kwargs.pop("ids", ()),
            )
            return func(*args, **kwargs)

        options = [
            click.option(
                "--mode",
                type=click.Choice([m.value for m in Mode]),
                default=Mode.MIXED.value,
                show_default=True,
                help="Kinds of question.",
            ),
            click.option("--topic", "topics", multiple=True, help="Only this topic (repeatable)."),
            click.option("--drug", "drugs", multiple=True, help="Only questions about this drug (repeatable)."),
            click.option(
                "--level",
                "levels",
                type=click.Choice([v.value for v in Level]),
                multiple=True,
                help="Only questions of this level (repeatable).",
            ),
        ]
        if ordered:
            options.append(
                click.option(
                    "--count",
                    type=int,
                    default=count,
                    show_default=count is not None,
                    help="How many questions" + (" (default: all)." if count is None else "."),
                )
            )
        if ordered and seed is None:
            options.append(
                click.option(
                    "--seed",
                    type=int,
                    default=None,
                    help="Ask exactly the set `export --seed S` gives, instead of due-first order.",
                )
            )
        elif ordered:
            options.append(
                click.option(
                    "--seed", type=int, default=seed, show_default=True, help="Seed for question and option order."
                )
            )
        if ids:
            options.append(
                click.option(
                    "--id",
                    "ids",
                    multiple=True,
                    metavar="QID",
                    help="Ask exactly this question (repeatable, in this order); ids are in `export --format json`.",
                )
            )
        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper

    return decorate


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="snri-quiz")
def cli() -> None:
    """Study the SNRI drugs: Anki decks, a terminal quiz and printable question sets,
    all made from one sourced knowledge base.

    \b
    Start with:
      snri-quiz check        validate the knowledge base and templates
      snri-quiz build        write the Anki deck to ./dist
    """


@cli.command()
@content_options
def check(deck: Path | None, templates: Path | None) -> None:
    """Validate the deck and templates and count what they make.

    Without --deck and --templates: the bundled deck and templates, from any folder.

    \b
    Example:
      snri-quiz check
    """
    from .content import check_content

    d, found, template_count = check_content(deck, templates)
    kinds = found.kinds
    unused = [f for f in d.facts if f.id not in found.used and f.attribute not in found.premises]
    premises = sum(1 for f in d.facts if f.id not in found.used and f.attribute in found.premises)
    where = str(deck) if deck is not None else "the bundled deck"
    click.echo(visible(f"{d.name} {d.version} ({where}): valid"))
    click.echo(f"  drugs       {len(d.drugs)}")
    click.echo(f"  facts       {len(d.facts)}")
    primary = sum(s.primary for s in d.sources.values())
    click.echo(f"  sources     {len(d.sources)} ({primary} primary, {len(d.sources) - primary} context)")
    click.echo(f"  templates   {template_count}")
    click.echo(f"  questions   {found.count} (" + ", ".join(f"{k} {n}" for k, n in kinds.items()) + ")")
    for template_id, reasons in found.skipped.items():
        if reasons:
            total = sum(reasons.values())
            click.echo(visible(f"  {template_id}: skipped {total} combination{'s' if total != 1 else ''}"))
            for reason, n in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
                click.echo(f"    {n:>4}  {reason}")
    if unused:
        click.echo(f"  facts no question uses: {len(unused)}")
        for fact in unused:
            click.echo(f"    {fact.id}  ({fact.path}:{fact.line})")
    else:
        click.echo("  facts no question uses: none")
    if premises:
        click.echo(f"  facts only vignette proofs use (closed lists that rule options out): {premises}")


@cli.command()
@content_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of source records.")
def sources(deck: Path | None, templates: Path | None, as_json: bool) -> None:
    """List the sources and how much of the deck rests on each.

    For every source: id, kind (primary kinds: label, fda, guideline, review, trial,
    paper), application number, the facts and questions citing it, and how many of
    those have it as their only primary source ("sole").

    \b
    Example:
      snri-quiz sources
      snri-quiz sources --json > sources.json
    """
    from .content import load_content
    from .questions import source_usage

    content = load_content(deck, templates)
    records = source_usage(content.deck, content.bank)
    if as_json:
        import json

        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    width = max(len(r["id"]) for r in records)
    click.echo(f"{'id':<{width}}  {'kind':<9}  {'application':<11}  facts (sole)  questions (sole)")
    for r in records:
        click.echo(
            f"{r['id']:<{width}}  {r['kind']:<9}  {r['application'] or '-':<11}  "
            f"{r['facts']:>5} ({r['sole_facts']:>3})  {r['questions']:>9} ({r['sole_questions']:>3})"
        )
        click.echo(visible(f"{'':<{width}}  {r['title']}"))
        if r["url"]:
            click.echo(visible(f"{'':<{width}}  {r['url']}"))


@cli.command()
@deck_option
@click.option("--drug", default=None, help="Only this drug (or the class subject).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of fact records.")
def facts(deck: Path | None, drug: str | None, as_json: bool) -> None:
    """Show the knowledge base, one fact a line, with its sources.

    \b
    Example:
      snri-quiz facts --drug duloxetine
      snri-quiz facts --json > facts.json
    """
    from .content import bundled_deck
    from .deckfile import load_deck
    from .facts import facts_as_records

    d = load_deck(deck or bundled_deck())
    subject = drug.lower() if drug else None
    subjects = [x.subject for x in d.drugs] + [d.class_subject]
    if subject is not None and subject not in subjects:
        raise UsageError(f"unknown drug '{drug}' (choose from {', '.join(subjects)})")
    if as_json:
        import json

        click.echo(json.dumps(facts_as_records(d, subject), ensure_ascii=False, indent=2))
        return
    for name in subjects:
        chosen = [f for f in d.facts if f.subject == name]
        if subject not in (None, name) or not chosen:
            continue
        click.echo(visible(f"{d.subject_name(name)} ({len(chosen)} facts)"))
        width = max(len(f.attribute) for f in chosen)
        for f in chosen:
            value = f.text if f.attribute not in d.attributes or d.attributes[f.attribute].type != "date" else f.value
            flag = "" if f.confidence == "high" else f"  [{f.confidence} confidence]"
            click.echo(visible(f"  {f.attribute:<{width}}  {value}  [{', '.join(f.sources)}]{flag}"))
        click.echo("")


@cli.command()
@content_options
@selection_options(count=None, seed=0, ids=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in ExportFormat]),
    default="json",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    default=None,
    help="File to write; - or left out: standard output (pdf needs -o).",
)
@click.option(
    "--forms",
    type=int,
    default=1,
    show_default=True,
    help="Printable formats: how many versions (A, B, ...), each shuffled differently.",
)
@click.option("--title", default=None, help="Printable formats: the title (default: '<deck> question set').")
@click.option(
    "--points",
    type=click.FloatRange(min=0, min_open=True),
    default=1,
    show_default=True,
    help="Printable formats: points per question (shown by each question and in the grading grid).",
)
@click.option(
    "--key",
    type=click.Choice([k.value for k in KeyPlacement]),
    default=KeyPlacement.SEPARATE.value,
    show_default=True,
    help="Printable formats: the answer key in its own file (exam-key.pdf beside exam.pdf; "
    "appended when writing to standard output), after the questions, or left out.",
)
def export(
    deck: Path | None,
    templates: Path | None,
    selection: Selection,
    fmt: str,
    output: Path | None,
    forms: int,
    title: str | None,
    points: float,
    key: str,
) -> None:
    """Export a question set: a printable exam with answer keys, or a file for another tool.

    pdf, html and md are printable exams (--forms, --title, --points, --key). csv and tsv are
    for Anki's text import, quizlet is a two-column term/definition TSV, gift and
    moodle are Moodle's GIFT and XML formats, json is every field of every question.
    The same options give the same questions for every format.

    \b
    Example:
      snri-quiz export --format pdf --forms 2 --count 20 -o exam.pdf
      snri-quiz export --format moodle --topic brand_names -o brands.xml
    """
    from .content import load_content
    from .dispatch import ExportJob, run

    given = click.get_current_context().get_parameter_source("key") is not click.core.ParameterSource.DEFAULT
    job = ExportJob.checked(
        ExportFormat(fmt),
        output,
        forms=forms,
        title=title,
        points=points,
        key=KeyPlacement(key) if given else None,
    )
    written = run(job, load_content(deck, templates, seed=selection.seed or 0), selection)
    if written is not None:
        click.echo(written, err=True)


@cli.command()
@content_options
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(),
    default="dist",
    show_default=True,
    help="Folder to write the .apkg into (created if missing, when its parent exists); - for standard output.",
)
@selection_options(count=None, seed=None, ids=False, ordered=False)
def build(deck: Path | None, templates: Path | None, out_dir: Path, selection: Selection) -> None:
    """Build the Anki deck (.apkg) to import, and re-import after every update.

    Notes keep their identity across builds, so re-importing updates cards in
    place without duplicates and keeps your review history.

    \b
    Example:
      snri-quiz build -o dist
      snri-quiz build --topic brand_names --drug duloxetine -o dist
      snri-quiz build --level application -o dist/vignettes
      snri-quiz build -o - > SNRIs.apkg
    """
    from pathlib import Path

    from .anki import build_package, make_notes
    from .content import load_content
    from .files import STDOUT, output_folder
    from .parallel import beside

    stream = sys.stdout.buffer if str(out_dir) == STDOUT else None
    to_stdout = stream is not None
    if stream is not None and stream.isatty():
        raise UsageError("-o - would print the .apkg package to the terminal; redirect it to a file")
    if stream is None:
        output_folder(Path(out_dir))  # a bad -o fails before the work, not after
    with beside() as later:
        # a fresh load makes the notes beside the questions; its cache is written beside the package
        content = load_content(deck, templates, then=make_notes, later=later.add)
        later.start()
        result = build_package(content, None if to_stdout else Path(out_dir), selection=selection, stream=stream)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    where = "standard output" if to_stdout else str(result.path)
    click.echo(f"Wrote {where} ({result.notes} notes, {result.cards} cards)", err=to_stdout)
    width = max(len(s.name) for s in result.subdecks)
    for sub in result.subdecks:
        click.echo(f"  {sub.name:<{width}}  {sub.notes:>4} notes  {sub.cards:>4} cards", err=to_stdout)
    if result.changes:
        where = f" (recorded in {result.changelog})" if result.changelog else ""
        click.echo(f"Since the last build: {result.changes.summary()}{where}", err=to_stdout)
        for line in result.changes.lines():
            click.echo(visible(f"  {line}"), err=to_stdout)


@cli.command()
@content_options
@selection_options(count=10, seed=None, ids=True)
@click.option("--cram", is_flag=True, help="Quiz without touching the spaced-repetition schedule.")
@click.option("--no-again", is_flag=True, help="Do not ask missed questions again at the end.")
@click.option("--sources", "full_sources", is_flag=True, help="Show sources with their full addresses.")
@click.option("--json", "as_json", is_flag=True, help="Print the session result as JSON.")
def play(
    deck: Path | None,
    templates: Path | None,
    selection: Selection,
    cram: bool,
    no_again: bool,
    full_sources: bool,
    as_json: bool,
) -> None:
    """Take a quiz in the terminal, with grading, explanations and spaced repetition.

    Questions that are due come first, then new ones; the ones you miss come back
    once at the end (the score counts first attempts). Answer with a letter or the
    option's text; t/f for true or false. At the prompt: ? keys, s skip, u undo,
    q quit; after a typed answer graded wrong, ! counts it as right and flags the
    question for review. Progress is saved after every answer in the user data
    directory (or $SNRI_QUIZ_HOME). When standard input is not a terminal, one
    answer is read per line, so a quiz can be scripted.

    \b
    Example:
      snri-quiz play --count 5 --topic brand_names
      printf 'f\\nt\\n' | snri-quiz play --mode tf --count 2 --seed 1 --cram
    """
    from .content import load_content
    from .play import quiz

    content = load_content(deck, templates, seed=selection.seed or 0)
    sys.exit(quiz(content, selection, cram=cram, again=not no_again, full_sources=full_sources, as_json=as_json))


def collection_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--collection and --profile: which Anki collection."""

    @click.option(
        "--collection",
        type=click.Path(),
        default=None,
        help="Anki's collection.anki2 (or its profile folder); default: the --profile's in Anki's data folder.",
    )
    @click.option("--profile", default=None, help="Anki profile (see `snri-quiz anki profiles`); needed if several.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@cli.group(invoke_without_command=True)
@click.pass_context
def anki(ctx: click.Context) -> None:
    """Your own Anki collection: push the deck into it, pull your Anki reviews back.

    Needs Anki's library: pip install 'snri-quiz[anki]' (without it these commands
    say so and exit with status 1). Close Anki first: a collection Anki has open is
    refused and left unchanged. Every push makes a backup first and is all or nothing.

    \b
    Example:
      snri-quiz anki push --dry-run
      snri-quiz anki push --profile "User 1"
      snri-quiz anki pull
    """
    if ctx.invoked_subcommand is None:  # like snri-quiz alone: the help, exit 0
        click.echo(ctx.get_help())


@anki.command("profiles")
def anki_profiles() -> None:
    """List Anki's profiles on this computer and their collection files.

    \b
    Example:
      snri-quiz anki profiles
    """
    from .ankisync import anki_base, profiles

    found = profiles()
    if not found:
        click.echo(f"No Anki profiles in {anki_base()} (open Anki once, or set ANKI_BASE)")
        return
    width = max(len(name) for name, _ in found)
    for name, path in found:
        click.echo(visible(f"{name:<{width}}  {path}"))


@anki.command("push")
@content_options
@collection_options
@click.option("--dry-run", is_flag=True, help="Only print what would change.")
@click.option("--suspend-retired", is_flag=True, help="Also suspend the cards of questions no longer made.")
@click.option(
    "--push-reviews",
    is_flag=True,
    help="Also add your snri-quiz answers to Anki's review log (statistics only; see the README).",
)
def anki_push(
    deck: Path | None,
    templates: Path | None,
    collection: str | None,
    profile: str | None,
    dry_run: bool,
    suspend_retired: bool,
    push_reviews: bool,
) -> None:
    """Write the deck into your Anki collection, keeping your notes, tags, suspensions and reviews.

    Notes are matched by GUID, as an .apkg import does; only generated fields whose
    text changed are written. Your "My notes" field, your own tags, suspensions, flags,
    deck moves and review history are never touched. New questions are added;
    questions no longer made are tagged snri::retired (never deleted). Note types
    keep their ids and are updated in place; when fields are added Anki asks for a
    full sync on the next sync. --push-reviews also writes your snri-quiz answers
    into Anki's review log (they show in Anki's statistics; Anki's schedule is not
    changed; they sync to AnkiWeb and cannot be taken out one by one).

    \b
    Example:
      snri-quiz anki push --dry-run
      snri-quiz anki push --collection ~/.local/share/Anki2/User\\ 1/collection.anki2
    """
    from .ankisync import collection_path, push, require_anki
    from .content import load_content

    require_anki()
    path = collection_path(collection, profile)
    content = load_content(deck, templates)
    answers: list[Any] = []
    if push_reviews:
        from .kinds import AnswerSource
        from .progress import ProgressStore

        with ProgressStore.open() as store:
            answers = store.rated_answers(AnswerSource.PLAY)
    result = push(content, path, dry_run=dry_run, suspend_retired=suspend_retired, answers=answers)
    plan = result.plan
    if dry_run:
        click.echo(f"Dry run, nothing written to {path}")
    elif result.backup is not None:
        click.echo(f"Backup: {result.backup}")
    if not plan:
        click.echo(f"Up to date: {path} ({plan.summary()})")
        return
    click.echo(("Would change: " if dry_run else f"Pushed into {path}: ") + plan.summary())
    for line in plan.lines():
        click.echo(visible(f"  {line}"))
    if plan.schema_change:
        click.echo(
            "Note types gained fields or card types: on the next sync Anki asks for a one-way (full) sync;"
            " sync your other devices before pushing, then choose Upload."
        )


@anki.command("pull")
@content_options
@collection_options
def anki_pull(deck: Path | None, templates: Path | None, collection: str | None, profile: str | None) -> None:
    """Merge your Anki reviews of this deck into snri-quiz's progress (stats and play's schedule).

    Each review becomes an answer with source 'anki'; pulling twice adds nothing.

    \b
    Example:
      snri-quiz anki pull
      snri-quiz anki pull --profile "User 1"
    """
    from .content import load_content

    click.echo(_pull(load_content(deck, templates), collection, profile))


def _pull(content: Any, collection: str | None, profile: str | None) -> str:
    from .ankisync import collection_path, pull, require_anki

    require_anki()
    result = pull(content, collection_path(collection, profile))
    extra = f"; {result.not_in_deck} of retired questions left out" if result.not_in_deck else ""
    return f"Pulled {result.added} new reviews from {result.collection} ({result.found} in Anki for this deck{extra})"


@cli.command()
@content_options
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option("--anki", "from_anki", is_flag=True, help="Pull your Anki reviews first (as `snri-quiz anki pull`).")
@collection_options
def stats(
    deck: Path | None,
    templates: Path | None,
    as_json: bool,
    from_anki: bool,
    collection: str | None,
    profile: str | None,
) -> None:
    """Show your progress: mastery per topic, what is due this week, coverage, streak and weakest facts.

    \b
    Example:
      snri-quiz stats
      snri-quiz stats --json
      snri-quiz stats --anki
    """
    from datetime import UTC, datetime

    from .content import load_content
    from .progress import ProgressStore, stats_json

    content = load_content(deck, templates)
    if from_anki:
        click.echo(_pull(content, collection, profile), err=True)
    elif collection is not None or profile is not None:
        raise UsageError("--collection and --profile go with --anki")
    with ProgressStore.open() as store:
        result = store.stats(datetime.now(UTC), content.bank)
    if as_json:
        click.echo(stats_json(result))
        return
    if not result.answered:
        click.echo("No answers yet: run snri-quiz play")
        return
    d = content.deck
    bars = sys.stdout.isatty()

    def bar(fraction: float, width: int = 20) -> str:
        if not bars:
            return ""
        filled = round(max(0.0, min(1.0, fraction)) * width)
        return "█" * filled + "·" * (width - filled) + "  "

    pct = f" ({round(100 * result.correct / result.answered)}% correct)"
    seen, total = result.coverage
    click.echo(f"Sessions:   {result.sessions}")
    click.echo(f"Answered:   {result.answered}{pct}")
    from .kinds import AnswerSource

    if result.by_source.get(AnswerSource.ANKI):
        play, anki = (result.by_source.get(s, 0) for s in (AnswerSource.PLAY, AnswerSource.ANKI))
        click.echo(f"            {play} in snri-quiz, {anki} in Anki")
    click.echo(f"Coverage:   {seen} of {total} questions seen")
    click.echo(f"Streak:     {result.streak_days} day{'s' if result.streak_days != 1 else ''}")
    click.echo(f"Due now:    {result.due_now}")
    click.echo(f"Due today:  {result.due_today}")
    click.echo("Mastery by topic:")
    for key, m in sorted(result.topics.items(), key=lambda item: list(d.topics).index(item[0])):
        topic_name = visible(d.topics.get(key, key))
        click.echo(f"  {topic_name:<36} {bar(m.mastery)}{round(100 * m.mastery):>3}%  ({m.seen}/{m.total} seen)")
    click.echo("Due in the next 7 days:")
    peak = max(result.due_forecast) or 1
    for day, due in enumerate(result.due_forecast):
        name = ("today", "tomorrow")[day] if day < 2 else f"in {day} days"
        click.echo(f"  {name:<11} {bar(due / peak, 30)}{due}")
    for title, block, label in (
        ("By topic:", result.by_topic, lambda k: d.topics.get(k, k)),
        ("By drug:", result.by_drug, lambda k: k),
    ):
        if block:
            click.echo(title)
            for key, (correct, answered) in block.items():
                click.echo(
                    f"  {visible(str(label(key))):<36} {correct:>3}/{answered:<3} {round(100 * correct / answered):>3}%"
                )
    if result.weakest:
        click.echo("Weakest facts:")
        for fact_id, correct, answered in result.weakest:
            try:
                fact = d.fact(fact_id)
                value = fact.text if len(fact.text) <= 80 else fact.text[:79].rstrip() + "…"  # one line
                what = f"{d.subject_name(fact.subject)}, {d.attributes[fact.attribute].label}: {value}"
            except KeyError:
                what = fact_id
            click.echo(f"  {correct}/{answered}  {visible(what)}")
    if result.disputed:
        click.echo(f"Answers you counted as right ({len(result.disputed)}), flagged for review:")
        for item in result.disputed:
            click.echo(f"  {item.question_id}  '{visible(item.response)}'")


def main() -> None:
    """Entry point: click's own usage errors also become one line and exit status 2."""
    args = sys.argv[1:] or ["--help"]  # no command: the help, exit 0
    try:
        cli.main(args, prog_name="snri-quiz", standalone_mode=False)
    except click.UsageError as exc:
        _fail([f"Error: {exc.format_message()}"], exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        _fail(["Aborted."], 130)
