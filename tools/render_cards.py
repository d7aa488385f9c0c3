"""Render a sample of every note type through Anki's own engine and screenshot it.

Builds the bundled deck, imports the .apkg into a temporary collection with the `anki`
package, takes `card.question()` / `card.answer()` (the HTML Anki shows, with the note
type's CSS) and screenshots each side in headless Chromium at phone (360 px) and
desktop widths, in day and night mode (Anki's night mode adds `nightMode night_mode`).
Fails (exit 1) when a card is wider than the screen or phone text is under 16 px.

    .venv/bin/python tools/render_cards.py                  # the README's pictures, into docs/cards/
    .venv/bin/python tools/render_cards.py --all --out /tmp/cards   # every card, side, width and mode

Needs the test extra (`anki`) and Chromium (Debian: apt-get install chromium).
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS = {"phone": 360, "desktop": 900}
MODES = ("day", "night")
README_SHOTS = {
    "mcq-back-phone-day",
    "vignette-front-phone-day",
    "vignette-back-phone-night",
    "vignette-back-desktop-day",
    "tf-false-back-phone-night",
    "cloze-back-phone-day",
    "typed-back-phone-night",
    "reverse-front-phone-day",
    "mcq-back-desktop-night",
    "tf-false-back-desktop-day",
}
"""The pictures committed under docs/cards/ and shown in the README (--all makes every one)."""


def samples(col: object) -> list[tuple[str, int]]:
    """(name, card id) pairs: one card of each note type, plus a false true/false and a
    typed card with other accepted answers."""
    from anki.collection import Collection

    assert isinstance(col, Collection)

    def first(note_type: str, query: str) -> int:
        """The first card of the note type matching `query`, else (content changes) the first of the type."""
        for search in (f'"note:snri-quiz {note_type}" {query}', f'"note:snri-quiz {note_type}"'):
            ids = col.find_cards(search)
            if ids:
                return sorted(ids)[0]
        raise SystemExit(f"no card of note type {note_type!r}")

    return [
        ("mcq", first("multiple choice", '"Question:Fetzima is a US brand name*"')),
        ("vignette", first("multiple choice", "tag:snri::kind::vignette")),
        ("tf-false", first("true or false", 'Answer:False "Statement:After stopping venlafaxine*"')),
        ("tf-true", first("true or false", "Answer:True")),
        ("cloze", first("cloze", '"Explanation:*Caution*"')),
        ("typed", first("type the answer", '"Explanation:*Also accepted*"')),
        ("reverse", first("basic and reversed", "card:1")),
    ]


def vignette_package(deck: object, path: Path) -> Path:
    """A package of one vignette: the bank's first, else the hand-made case of tests/samples.py."""
    from snri_quiz.anki import note_spec, write_package
    from snri_quiz.content import load_content
    from snri_quiz.facts import Deck

    assert isinstance(deck, Deck)
    found = [q for q in load_content(deck.path).bank if q.kind == "vignette"]
    if found:
        q = found[0]
    else:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.samples import vignette

        q = vignette()
    return write_package(deck, [note_spec(deck, q)], [1_700_000_000], path, 1_700_000_000)


def page(body: str, night: bool, width: int) -> str:
    classes = "card nightMode night_mode" if night else "card"
    # Anki's reviewer: the card HTML in div#qa inside a body carrying the card classes.
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width={width}'>"
        "<style>html, body { margin-top: 0; margin-bottom: 0; } #qa { padding: 8px 0 16px; }</style>"
        f"</head><body class='{classes}'><div id='qa'>{body}</div></body></html>"
    )


def measuring_page(card_page: Path, width: int) -> str:
    """The card page in an iframe `width` pixels wide (headless Chromium's own window is
    at least 500 px wide); its content size goes into the DOM, read back with --dump-dom."""
    return (
        f"<!DOCTYPE html><html><body><iframe id='f' src='{card_page.name}' width='{width}' height='100'></iframe>"
        "<script>addEventListener('load', () => { const d = document.getElementById('f').contentDocument;"
        " document.body.dataset.h = d.documentElement.scrollHeight;"
        " document.body.dataset.w = d.documentElement.scrollWidth;"
        " let least = 999; for (const el of d.body.querySelectorAll('*')) {"
        "  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());"
        "  if (own && el.offsetParent !== null) least = Math.min(least, parseFloat(getComputedStyle(el).fontSize)); }"
        " document.body.dataset.f = Math.floor(least); });</script></body></html>"
    )


def chromium_args(chromium: str, width: int, height: int) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={width},{height}",
    ]


def type_box(text: str, comparison: str | None) -> str:
    """What Anki's reviewer puts where [[type:Answer]] stands."""
    if comparison is None:
        box = "<center><input type=text id=typeans placeholder='type here'></center>"
    else:
        box = comparison
    return re.sub(r"\[\[type:[^\]]+\]\]", lambda _m: box, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/cards"))
    parser.add_argument("--all", action="store_true", help="Every sample, side, width and mode, not only the README's")
    args = parser.parse_args(argv)

    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    from snri_quiz.anki import build_package
    from snri_quiz.content import bundled_deck, load_content

    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        print("Chromium not found (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="snri-cards-") as tmp:
        tmp_path = Path(tmp)
        deck = tmp_path / "deck"  # a copy, so the build leaves the deck's lock file alone
        shutil.copytree(bundled_deck(), deck)
        content = load_content(deck)
        result = build_package(content, tmp_path / "dist")
        case = vignette_package(content.deck, tmp_path / "vignette.apkg")
        (tmp_path / "col").mkdir()
        col = Collection(str(tmp_path / "col" / "collection.anki2"))
        try:
            for package in (result.path, case):
                request = ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions())
                col.import_anki_package(request)
            rendered: list[tuple[str, str, str]] = []
            for name, card_id in samples(col):
                card = col.get_card(card_id)
                note = card.note()
                front, back = card.question(), card.answer()
                if "[[type:" in front:
                    expected = html.unescape(note["Answer"])
                    front = type_box(front, None)
                    back = type_box(back, col.compare_answer(expected, expected.lower()[:-1]))
                rendered += [(name, "front", front), (name, "back", back)]
        finally:
            col.close()
        problems: list[str] = []
        for name, side, body in rendered:
            for device, width in WIDTHS.items():
                if device == "desktop":  # show the collapsed parts opened, as after a tap
                    body = body.replace("<details", "<details open")
                for mode in MODES:
                    stem = f"{name}-{side}-{device}-{mode}"
                    if not args.all and stem not in README_SHOTS:
                        continue
                    html_path = tmp_path / f"{stem}.html"
                    html_path.write_text(page(body, mode == "night", width), encoding="utf-8")
                    measure = tmp_path / f"{stem}-measure.html"
                    measure.write_text(measuring_page(html_path, width), encoding="utf-8")
                    dom = subprocess.run(
                        [
                            *chromium_args(chromium, 1000, 400),
                            "--allow-file-access-from-files",
                            "--virtual-time-budget=3000",
                            "--dump-dom",
                            measure.as_uri(),
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                        timeout=120,
                    ).stdout
                    height = int(re.search(r'data-h="(\d+)"', dom).group(1))  # type: ignore[union-attr]
                    if int(re.search(r'data-w="(\d+)"', dom).group(1)) > width:  # type: ignore[union-attr]
                        problems.append(f"{stem}: wider than {width} px")
                    smallest = int(re.search(r'data-f="(\d+)"', dom).group(1))  # type: ignore[union-attr]
                    if device == "phone" and smallest < 16:
                        problems.append(f"{stem}: text of {smallest} px")
                    png = out / f"{stem}.png"
                    subprocess.run(
                        [*chromium_args(chromium, width, max(height, 200)), f"--screenshot={png}", html_path.as_uri()],
                        check=True,
                        capture_output=True,
                        timeout=120,
                    )
                    print(png)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
