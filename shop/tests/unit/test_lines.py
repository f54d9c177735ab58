"""Lines of one product are one line; a list without repeats is returned as it is."""

from __future__ import annotations

from dataclasses import dataclass

from mercato_shop.lines import one_line_per_product


@dataclass(frozen=True)
class Line:
    product_id: int
    quantity: int


def test_lines_of_one_product_add_up_in_the_place_of_the_first() -> None:
    lines = [Line(2, 1), Line(1, 5), Line(2, 3)]
    assert one_line_per_product(lines, Line) == [Line(2, 4), Line(1, 5)]


def test_distinct_lines_are_the_same_list() -> None:
    lines = [Line(1, 1), Line(2, 2)]
    assert one_line_per_product(lines, Line) is lines
