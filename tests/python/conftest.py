"""Shared fixtures and exact oracles for the fixedq Python tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pytest

import fixedq


@dataclass(frozen=True)
class Format:
    """What a test needs to know about one named format, independently of the package."""

    type: type
    name: str
    integer_bits: int
    fraction_bits: int
    raw_dtype: type

    @property
    def bits(self) -> int:
        return self.integer_bits + self.fraction_bits

    @property
    def raw_min(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def raw_max(self) -> int:
        return 2 ** (self.bits - 1) - 1

    @property
    def scale(self) -> int:
        return 2**self.fraction_bits

    def value(self, raw: int) -> Fraction:
        return Fraction(raw, self.scale)


FORMATS = [
    Format(fixedq.Fixed8_8, "Fixed8_8", 8, 8, np.int16),
    Format(fixedq.Fixed16_16, "Fixed16_16", 16, 16, np.int32),
    Format(fixedq.Fixed24_8, "Fixed24_8", 24, 8, np.int32),
    Format(fixedq.Fixed32_32, "Fixed32_32", 32, 32, np.int64),
    Format(fixedq.Q7, "Q7", 1, 7, np.int8),
    Format(fixedq.Q15, "Q15", 1, 15, np.int16),
    Format(fixedq.Q31, "Q31", 1, 31, np.int32),
]
SMALL_FORMATS = [f for f in FORMATS if f.bits <= 16]

ROUNDINGS = ["floor", "toward_zero", "ceil", "half_up", "half_away", "half_even"]
OVERFLOWS = ["wrap", "saturate", "raise"]


def round_fraction(x: Fraction, rounding: str) -> int:
    """x rounded to an integer: plain floor-division arithmetic, the test's own oracle."""
    fl = x.numerator // x.denominator
    rem = x - fl
    if rem == 0:
        return fl
    if rounding == "floor":
        return fl
    if rounding == "ceil":
        return fl + 1
    if rounding == "toward_zero":
        return fl if x > 0 else fl + 1
    half = Fraction(1, 2)
    if rem < half:
        return fl
    if rem > half:
        return fl + 1
    if rounding == "half_up":
        return fl + 1
    if rounding == "half_away":
        return fl + 1 if x > 0 else fl
    assert rounding == "half_even"
    return fl if fl % 2 == 0 else fl + 1


class Overflowed(Exception):
    """The oracle's 'raise' outcome."""


def fit(fmt: Format, n: int, overflow: str) -> int:
    """The raw integer n fitted into the format's range with the overflow policy."""
    if fmt.raw_min <= n <= fmt.raw_max:
        return n
    if overflow == "saturate":
        return fmt.raw_min if n < fmt.raw_min else fmt.raw_max
    if overflow == "wrap":
        m = n % (2**fmt.bits)
        return m - 2**fmt.bits if m > fmt.raw_max else m
    raise Overflowed


def oracle_raw(fmt: Format, x: Fraction, rounding: str, overflow: str) -> int:
    """The raw integer fixedq must produce for the exact value x: round, then overflow."""
    return fit(fmt, round_fraction(x * fmt.scale, rounding), overflow)


@pytest.fixture(params=FORMATS, ids=lambda f: f.name)
def fmt(request: pytest.FixtureRequest) -> Format:
    return request.param


@pytest.fixture(params=SMALL_FORMATS, ids=lambda f: f.name)
def small_fmt(request: pytest.FixtureRequest) -> Format:
    return request.param


def seeded_rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """A generator whose seed is printed on failure; FIXEDQ_TEST_SEED repeats a run."""
    seed = int(os.environ.get("FIXEDQ_TEST_SEED", np.random.SeedSequence().entropy % 2**32))
    request.node.user_properties.append(("seed", seed))
    print(f"random seed {seed}; repeat with FIXEDQ_TEST_SEED={seed} python -m pytest {request.node.nodeid!r}")
    return np.random.default_rng(seed)


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    return seeded_rng(request)


def raw_edges(fmt: Format) -> list[int]:
    """The raw values where rounding and overflow bugs live."""
    lo, hi, half = fmt.raw_min, fmt.raw_max, fmt.scale // 2
    vals = {lo, lo + 1, lo + 2, hi, hi - 1, hi - 2, -1, 0, 1, 2, -2, half, -half, half + 1, -half - 1,
            fmt.scale, -fmt.scale, fmt.scale + half, -fmt.scale - half, 3 * half, -3 * half}
    return sorted(v for v in vals if lo <= v <= hi)


# ---------------------------------------------------------------------------------------------
# Emulated CPUs: every test function, a deterministic sample of its parameter sets
# ---------------------------------------------------------------------------------------------
# Under qemu (CI's isa-emulation stage) Python runs ~15x slower, and the 8,000+ parameter sets
# of the native run would take most of an hour. With FIXEDQ_TEST_PARAM_SAMPLE=N every test
# function still runs, on at most N of its parameter sets, spread evenly over the list (so
# every format and policy family is reached across the functions). Natively, unset: all run.
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    sample = os.environ.get("FIXEDQ_TEST_PARAM_SAMPLE")
    if not sample:
        return
    limit = int(sample)
    if limit < 1:
        raise pytest.UsageError(f"FIXEDQ_TEST_PARAM_SAMPLE must be a positive integer, got {sample!r}")
    groups: dict[tuple[str, str], list[pytest.Item]] = {}
    for item in items:
        name = getattr(item, "originalname", None) or item.name
        groups.setdefault((str(item.path), name), []).append(item)
    keep: set[int] = set()
    for group in groups.values():
        if len(group) <= limit:
            keep.update(id(item) for item in group)
        else:
            step = len(group) / limit
            keep.update(id(group[int(i * step)]) for i in range(limit))
    deselected = [item for item in items if id(item) not in keep]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if id(item) in keep]
