"""Django's ``{# ... #}`` comments end on their own line: one that runs onto the next line is
printed on the page as text. Longer comments use ``{% comment %}``."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_no_template_comment_runs_onto_a_second_line():
    unclosed = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*"))
        if path.is_file() and path.suffix in {".html", ".txt"}
        for number, line in enumerate(path.read_text().splitlines(), 1)
        for opening in re.finditer(r"\{#", line)
        if "#}" not in line[opening.end() :]
    ]
    assert unclosed == []
