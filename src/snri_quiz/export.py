"""Question values -> interchange and printable formats."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .questions import Question


def question_record(q: Question) -> dict[str, Any]:
    """One question as the JSON export defines it."""
    return {
        "id": q.id,
        "kind": q.kind,
        "topic": q.topic,
        "subject": q.subject,
        "prompt": q.prompt,
        "options": list(q.options),
        "answer": q.answer,
        "answer_index": q.answer_index,
        "accepted": list(q.accepted),
        "explanation": q.explanation,
        "sources": list(q.sources),
    }


def to_json(questions: Iterable[Question]) -> str:
    return json.dumps([question_record(q) for q in questions], ensure_ascii=False, indent=2) + "\n"
