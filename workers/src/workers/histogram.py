"""Statistics of a histogram of integer values (distinct value -> count), at a cost that
follows the distinct values, not the count: Postgres' `percentile_cont` exactly, and a
bootstrap confidence interval of the mean.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_SEED = 20_240_601


def percentile_cont(sorted_values: Sequence[float], fraction: float) -> float:
    """Postgres' `percentile_cont`: interpolate linearly between the two nearest ranks."""
    if not sorted_values:
        msg = "percentile of no values"
        raise ValueError(msg)
    position = fraction * (len(sorted_values) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(sorted_values) - 1)
    weight = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * weight


class Histogram:
    """Values in ascending order, each with how many times it occurs (at least once)."""

    __slots__ = ("_ends", "counts", "values")

    def __init__(self, pairs: Sequence[tuple[int, int]]) -> None:
        ordered = sorted(pairs)
        if not ordered or any(count < 1 for _, count in ordered):
            msg = "a histogram needs values that occur at least once"
            raise ValueError(msg)
        self.values = [value for value, _ in ordered]
        self.counts = [count for _, count in ordered]
        self._ends = list(accumulate(self.counts))  # rank (from 0) after each value's last

    @property
    def size(self) -> int:
        return self._ends[-1]

    @property
    def total(self) -> int:
        return sum(value * count for value, count in zip(self.values, self.counts, strict=True))

    def at(self, rank: int) -> int:
        """The value at this rank (from 0) of the sorted values."""
        return self.values[bisect_right(self._ends, rank)]

    def percentile_cont(self, fraction: float) -> float:
        """`percentile_cont` of the values, exactly as over the sorted list of them all."""
        position = fraction * (self.size - 1)
        lower = math.floor(position)
        upper = min(lower + 1, self.size - 1)
        weight = position - lower
        low = self.at(lower)
        return low + (self.at(upper) - low) * weight

    def mean_confidence_interval(self) -> tuple[float, float]:
        """95% bootstrap confidence interval of the mean (percentile method).

        Order values are skewed, so the textbook normal interval is off; resampling the
        values is the honest answer to "how sure are we of the mean?". A resample of n values
        with replacement is a multinomial draw of how many times each distinct value is
        taken, so each costs the distinct values, not n. Seeded: the same histogram gives the
        same interval.
        """
        rng = np.random.default_rng(BOOTSTRAP_SEED)
        values = np.array(self.values, dtype=np.int64)
        counts = rng.multinomial(
            self.size, np.array(self.counts) / self.size, size=BOOTSTRAP_RESAMPLES
        )
        means = sorted((counts @ values / self.size).tolist())
        return percentile_cont(means, 0.025), percentile_cont(means, 0.975)
