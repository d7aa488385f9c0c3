"""Sources: kinds and tiers, the URL allow-list, citations with label sections, how learners
see a citation, and the `sources` command. Broken-deck cases for each `check` rule are in
tests/broken/ (source-*, label-*, no-primary-source, correction-of-a-primary-source)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from click.testing import CliRunner

from snri_quiz.anki import note_spec
from snri_quiz.cli import cli
from snri_quiz.deckfile import ALLOWED_HOSTS, url_problem
from snri_quiz.facts import PRIMARY_KINDS, SourceKind, split_ref
from snri_quiz.generate import Content
from snri_quiz.questions import source_usage


@pytest.mark.parametrize(
    ("url", "kind", "allowed"),
    [
        ("https://dailymed.nlm.nih.gov/dailymed/drugInfo.cfm?setid=x", "label", True),
        ("https://www.accessdata.fda.gov/scripts/cder/daf/index.cfm", "label", True),
        ("https://www.rxlist.com/cymbalta-drug.htm", "label", False),
        ("https://medthority.com/fda/c/cymbalta", "label", False),
        ("doi:10.1097/AOG.0000000000001200", "paper", True),
        ("doi:10.1097/AOG.0000000000001200", "label", False),
        ("https://doi.org/10.2147/DDDT.S80886", "trial", True),
        ("https://www.droracle.ai/articles/1", "review", False),
        ("https://www.droracle.ai/articles/1", "secondary", True),
        ("javascript:alert(1)", "secondary", False),
        ("data:text/html,<script>alert(1)</script>", "news", False),
        ("JavaScript:alert(1)", "label", False),
        ("ftp://example.org/x", "company", False),
        ("https://exa mple.org/", "news", False),
    ],
)
def test_url_rules(url: str, kind: str, allowed: bool) -> None:
    assert (url_problem(url, kind) == "") is allowed


def test_kinds_and_tiers() -> None:
    assert {k.value for k in PRIMARY_KINDS} == {"label", "fda", "guideline", "review", "trial", "paper"}
    assert set(ALLOWED_HOSTS) == set(PRIMARY_KINDS)
    assert {k.value for k in SourceKind} - {k.value for k in PRIMARY_KINDS} == {"company", "news", "secondary", "seed"}


def test_every_fact_rests_on_a_primary_source(content: Content) -> None:
    for fact in content.deck.facts:
        assert any(content.deck.source(ref).primary for ref in fact.sources), fact.id


def test_labels_name_product_and_drug_and_their_citations_a_section(content: Content) -> None:
    deck = content.deck
    labels = [s for s in deck.sources.values() if s.kind == "label"]
    assert labels
    for label in labels:
        assert label.product.lower() in label.title.lower()
        assert label.url.startswith("https://dailymed.nlm.nih.gov/")
        if label.application:
            assert label.application in deck.drug(label.drug).applications
    for fact in deck.facts:
        for ref in fact.sources:
            source = deck.source(ref)
            if source.kind == "label":
                assert split_ref(ref)[1], (fact.id, ref)
            if source.drug and fact.subject != deck.class_subject:
                assert source.drug == fact.subject, (fact.id, ref)


def test_the_wrong_product_setids_are_gone(content: Content) -> None:
    """The 1.0.0 'Cymbalta' link was Drizalma Sprinkle's, 'Pristiq' Khedezla's, 'Savella' a repackager's."""
    by_setid = {s.url.split("setid=")[1][:36]: s for s in content.deck.sources.values() if "setid=" in s.url}
    assert by_setid["2f7d4d67-10c1-4bf4-a7f2-c185fbad64ba"].product == "Cymbalta"
    assert by_setid["b41423b8-dfec-4d79-ba3c-e43a87803d85"].product == "Drizalma Sprinkle"
    assert by_setid["0f43610c-f290-46ea-d186-4f998ed99fce"].product == "Pristiq"
    assert "0224e77b-7f6f-4191-ad3b-06847d5930e2" not in by_setid
    assert "c288bf12-cbab-4bc5-afb8-9853c0a15792" not in by_setid
    assert "Effexor" not in by_setid["e81a2daf-b8b2-7c05-b532-bc775700b100"].product


def test_citations_read_as_titles_with_section_and_place(content: Content) -> None:
    deck = content.deck
    shown = deck.display("label-cymbalta#5.2")
    assert shown == "Cymbalta (duloxetine delayed-release capsules) US prescribing information, section 5.2 (DailyMed)"
    assert deck.display("label-cymbalta#boxed").endswith(", boxed warning (DailyMed)")
    assert deck.display("label-pristiq#highlights").endswith(", Highlights (DailyMed)")
    assert deck.citation("label-cymbalta#5.2").endswith(f"<{deck.sources['label-cymbalta'].url}>")
    for source in deck.sources.values():
        assert source.file not in deck.display(source.id) if source.file else True


def test_a_javascript_url_never_reaches_a_card(content: Content) -> None:
    """Defence in depth: even a source that bypassed the loader is shown without a link."""
    deck = content.deck
    q = next(q for q in content.bank if q.kind == "mcq")
    source_id = split_ref(q.sources[0])[0]
    original = deck.sources[source_id]
    for url in ("javascript:alert(1)", "data:text/html,<b>x</b>", " javascript:alert(1)"):
        deck.sources[source_id] = dataclasses.replace(original, url=url)
        try:
            fields = note_spec(deck, q).fields
        finally:
            deck.sources[source_id] = original
        assert not any(re.search(r"javascript:|data:text", f, re.IGNORECASE) for f in fields), url
    assert 'href="https://' in "".join(note_spec(deck, q).fields)


def test_sources_command_counts_what_rests_on_each(content: Content) -> None:
    result = CliRunner().invoke(cli, ["sources", "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["id"] for r in records] == list(content.deck.sources)
    assert records == source_usage(content.deck, content.bank)
    for r in records:
        assert {
            "id",
            "kind",
            "title",
            "url",
            "application",
            "facts",
            "sole_facts",
            "questions",
            "sole_questions",
        } <= set(r)
        assert 0 <= r["sole_facts"] <= r["facts"] and 0 <= r["sole_questions"] <= r["questions"]
        if not r["primary"]:
            assert r["sole_facts"] == r["sole_questions"] == 0
    cited = sum(len({split_ref(ref)[0] for ref in f.sources}) for f in content.deck.facts)
    assert sum(r["facts"] for r in records) == cited
    sole = sum(
        1
        for f in content.deck.facts
        if len({split_ref(ref)[0] for ref in f.sources if content.deck.source(ref).primary}) == 1
    )
    assert sum(r["sole_facts"] for r in records) == sole


def test_sources_command_text(content: Content) -> None:
    result = CliRunner().invoke(cli, ["sources"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "kind", "application", "facts", "(sole)", "questions", "(sole)"]
    row = next(line for line in lines if line.startswith("label-cymbalta "))
    assert "label" in row and "NDA021427" in row
    assert any("Cymbalta (duloxetine delayed-release capsules)" in line for line in lines)
