"""The one table policy of the CLI: the names that identify rows are never cut.

A column that identifies its rows (a run key, a dataset, a feature, a slice) is printed whole, on
one line, however narrow the terminal: a row whose name reads ``addr_sta…`` identifies nothing.
When the width runs short the other columns shrink (with an ellipsis), and when even that is not
enough they are dropped, least important first. Output that is not a terminal is not limited to
a terminal's width at all (see ``_context.console``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | Text
"""A ``str`` is our markup ("[red]yes[/]"); anything derived from user data comes as ``Text``."""

MIN_SHRUNK = 5
"""Narrowest a shrunk column gets (room for "0.8…"); below that it is dropped instead."""


@dataclass(frozen=True)
class Column:
    """One column. ``key`` columns identify the row; ``drop`` orders the others' going (higher
    goes first; ties: the rightmost first)."""

    header: str
    key: bool = False
    justify: Literal["left", "right"] = "left"
    drop: int = 0


def print_table(
    console: Console, title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]
) -> None:
    """Print ``rows`` under ``columns`` within the console's width, keeping key columns whole."""
    cells = [[_as_text(cell) for cell in row] for row in rows]
    natural = [
        max([len(column.header), *(cells[r][c].cell_len for r in range(len(cells)))])
        for c, column in enumerate(columns)
    ]
    kept = _columns_that_fit(columns, natural, console.width)
    widths = _shrink({c: natural[c] for c in kept}, columns, console.width)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for c in kept:
        column = columns[c]
        table.add_column(
            column.header,
            justify=column.justify,
            no_wrap=True,
            overflow="fold" if column.key else "ellipsis",
            width=widths[c],
            min_width=widths[c],
        )
    for row in cells:
        table.add_row(*(row[c] for c in kept))
    needed = _total(widths.values())
    if needed <= console.width:
        console.print(table)
        return
    # Key columns wider than the screen: print wider (the terminal wraps) rather than cut them.
    # print(width=) is capped at the console's width, so widen the console for this table.
    screen = console.width
    console.width = needed
    try:
        console.print(table)
    finally:
        console.width = screen


def _as_text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text.from_markup(cell)


def _total(widths: Iterable[int]) -> int:
    """Table width for content widths: an edge on either side, a divider between columns, and
    one space of padding on either side of each column except at the edges (``pad_edge``)."""
    values = list(widths)
    if not values:
        return 0
    return sum(values) + 2 + (len(values) - 1) + 2 * len(values) - 2


def _minimum(column: Column, natural: int) -> int:
    return natural if column.key else min(natural, MIN_SHRUNK)


def _columns_that_fit(columns: Sequence[Column], natural: list[int], width: int) -> list[int]:
    kept = list(range(len(columns)))
    droppable = sorted(
        (c for c, column in enumerate(columns) if not column.key),
        key=lambda c: (columns[c].drop, c),
        reverse=True,
    )
    for c in droppable:
        if _total([_minimum(columns[k], natural[k]) for k in kept]) <= width:
            break
        kept.remove(c)
    return kept


def _shrink(widths: dict[int, int], columns: Sequence[Column], width: int) -> dict[int, int]:
    """Narrow the widest non-key columns one character at a time until the table fits."""
    widths = dict(widths)
    while _total(widths.values()) > width:
        shrinkable = [c for c in widths if not columns[c].key and widths[c] > MIN_SHRUNK]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda c: (widths[c], c))
        widths[widest] -= 1
    return widths
