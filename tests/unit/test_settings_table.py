"""docs/settings.md's table of settings and the Settings class agree: every setting the
class accepts (CHARGEPLAN_<FIELD>) has a row, and every row names real settings.

A row may name several settings, the later ones shortened to what differs from the first:
`CHARGEPLAN_HTTP_HOST` / `_HTTP_PORT` (the tail replaced), or
`CHARGEPLAN_API_RATE_READER_PER_MIN` / `_OPERATOR_` (one word in the middle replaced).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from app.settings import ENV_PREFIX, Settings

SETTINGS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
TABLE_HEADER = "| setting | default | meaning |"


def accepted() -> set[str]:
    return {f"{ENV_PREFIX}{field.name.upper()}" for field in dataclasses.fields(Settings)}


def table_rows(markdown: str) -> list[str]:
    """The first cell of each row of the settings table."""
    lines = markdown.splitlines()
    start = lines.index(TABLE_HEADER) + 2  # past the header and its |---| line
    cells = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells.append(line.split("|")[1].strip())
    return cells


def expand(cell: str, known: set[str]) -> list[str]:
    """The settings a first cell names; a shortened name that fits no setting is kept as
    written, so it shows up as unknown."""
    names = re.findall(r"`([A-Z_]+)`", cell)
    assert names and names[0].startswith(ENV_PREFIX), f"a row without a setting: {cell}"
    first = names[0][len(ENV_PREFIX):].split("_")
    found = [names[0]]
    for short in names[1:]:
        words = short.strip("_").split("_")
        if short.endswith("_"):  # `_OPERATOR_`: replaces words in the middle
            candidates = [first[:k] + words + first[k + len(words):] for k in range(len(first))]
        else:  # `_HTTP_PORT`: replaces the tail
            candidates = [first[:k] + words for k in range(len(first) + 1)]
        matches = {ENV_PREFIX + "_".join(c) for c in candidates} & known
        assert len(matches) <= 1, f"{short} in {cell} could be any of {sorted(matches)}"
        found.append(matches.pop() if matches else short)
    return found


def test_the_table_expands_shortened_names() -> None:
    known = accepted()
    assert expand("`CHARGEPLAN_HTTP_HOST` / `_HTTP_PORT`", known) == \
        ["CHARGEPLAN_HTTP_HOST", "CHARGEPLAN_HTTP_PORT"]
    assert expand("`CHARGEPLAN_API_RATE_READER_PER_MIN` / `_OPERATOR_` / `_ADMIN_`", known) == \
        ["CHARGEPLAN_API_RATE_READER_PER_MIN", "CHARGEPLAN_API_RATE_OPERATOR_PER_MIN",
         "CHARGEPLAN_API_RATE_ADMIN_PER_MIN"]
    assert expand("`CHARGEPLAN_HTTP_HOST` / `_HTTP_PORTT`", known)[1] == "_HTTP_PORTT"


def test_every_setting_has_a_row_and_every_row_names_a_setting() -> None:
    known = accepted()
    named = [name for cell in table_rows(SETTINGS_PAGE.read_text())
             for name in expand(cell, known)]

    assert sorted(known - set(named)) == [], "settings without a row in docs/settings.md"
    assert sorted(set(named) - known) == [], "rows of docs/settings.md naming no setting"
    assert len(named) == len(set(named)), "a setting with two rows"
