"""The fixed types as NumPy dtypes: promotion, raw views, structural operations, printing,
pickling, np.save/np.load, comparisons, and a multi-threaded run of the ufuncs."""

from __future__ import annotations

import io
import pickle
import threading
from fractions import Fraction

import numpy as np
import pytest

import fixedq
from conftest import FORMATS, Format, oracle_raw, raw_edges
from oracle import fixed_result, hex_of, ints, random_raws


def fixed_array(fmt: Format, raws) -> np.ndarray:
    return np.asarray(raws).astype(fmt.raw_dtype).view(fmt.type)


def raws_of(arr: np.ndarray) -> list[int]:
    return [int(v.raw) for v in arr.ravel()]


def sample(fmt: Format, rng: np.random.Generator, n: int = 64) -> np.ndarray:
    """n random raws plus the edges, an even number of them in all."""
    raws = np.concatenate([random_raws(fmt, rng, n), raw_edges(fmt)])
    return fixed_array(fmt, raws[: raws.size // 2 * 2])


# ------------------------------------------------------------------------------------------
# dtypes and promotion
# ------------------------------------------------------------------------------------------
def test_dtype_lookup(fmt: Format) -> None:
    dt = np.dtype(fmt.type)
    assert dt.type is fmt.type
    assert np.dtype(fmt.name.lower()) == dt
    assert fmt.type.dtype == dt
    assert dt.itemsize == fmt.bits // 8 == np.dtype(fmt.raw_dtype).itemsize
    assert dt.alignment == np.dtype(fmt.raw_dtype).alignment
    assert issubclass(fmt.type, np.generic)
    assert fmt.type.__module__ == "fixedq" and fmt.type.__name__ == fmt.name
    assert np.zeros(3, dtype=fmt.name.lower()).dtype == dt


def test_promotion_keeps_the_fixed_dtype(fmt: Format) -> None:
    """The fixed format always wins (ml_dtypes#189 is the bug when it does not): an int takes
    part exactly, a float is converted with the policy first (test_mixed_operands.py has the
    full rules)."""
    dt = np.dtype(fmt.type)
    x = fixed_array(fmt, [fmt.scale // 4, -fmt.scale // 2, 0, 3])
    for other in (1, 1.5, np.int64(1), np.int8(1), np.uint64(1), np.float32(0.5), np.float64(0.5),
                  True, np.zeros(4, np.int64), np.zeros(4, np.uint8), np.zeros(4, np.float32),
                  np.zeros(4, np.float64), np.zeros(4, np.bool_)):
        assert np.result_type(x, other) == dt, other
    assert np.result_type(x, 0.5, 2) == dt
    q = [Fraction(r, fmt.scale) for r in raws_of(x)]

    def conv(v: float) -> Fraction:  # a float operand, converted with the policy first
        return Fraction(oracle_raw(fmt, Fraction(v), "half_even", "saturate"), fmt.scale)

    half, quarter = conv(0.5), conv(0.25)
    for got, exact in [(x + 1, [v + 1 for v in q]), (x * 0.5, [v * half for v in q]),
                       (0.5 * x, [v * half for v in q]), (x * 2, [v * 2 for v in q]),
                       (x - 0.25, [v - quarter for v in q]), (1 - x, [1 - v for v in q]),
                       (0.25 - x, [quarter - v for v in q]), (x / 4, [v / 4 for v in q])]:
        assert got.dtype == dt
        assert raws_of(got) == [oracle_raw(fmt, e, "half_even", "saturate") for e in exact]
    for scalar in (fmt.type(0) + 1, 0.5 * fmt.type(0), fmt.type(0) * np.int16(3),
                   np.float32(0.25) - fmt.type(0)):
        assert type(scalar) is fmt.type


def test_no_common_dtype_between_formats() -> None:
    a = np.zeros(2, dtype=fixedq.Fixed16_16)
    b = np.zeros(2, dtype=fixedq.Q15)
    with pytest.raises(TypeError):
        np.result_type(a, b)
    with pytest.raises(TypeError):
        a + b
    assert (a + b.astype(fixedq.Fixed16_16)).dtype == a.dtype


# ------------------------------------------------------------------------------------------
# Raw views
# ------------------------------------------------------------------------------------------
def test_raw_views_share_memory(fmt: Format, rng: np.random.Generator) -> None:
    raws = random_raws(fmt, rng, 100).astype(fmt.raw_dtype)
    x = raws.view(fmt.type)
    assert x.dtype == np.dtype(fmt.type) and np.shares_memory(x, raws)
    assert raws_of(x) == raws.tolist()
    back = x.view(fmt.raw_dtype)
    assert back.dtype == fmt.raw_dtype and np.shares_memory(back, x)
    back[0] = 1  # writing through the raw view changes the fixed array
    assert x[0].raw == 1
    x[1] = fmt.type.from_raw(fmt.raw_min)
    assert raws[1] == fmt.raw_min
    two_d = raws.reshape(4, 25).view(fmt.type)
    assert two_d.shape == (4, 25) and np.shares_memory(two_d, raws)


# ------------------------------------------------------------------------------------------
# Creation and structural operations
# ------------------------------------------------------------------------------------------
def test_creation(fmt: Format) -> None:
    dt = np.dtype(fmt.type)
    assert raws_of(np.zeros((2, 3), dtype=dt)) == [0] * 6
    assert np.empty(5, dtype=dt).dtype == dt
    half = oracle_raw(fmt, Fraction(1, 2), "half_even", "saturate")
    assert raws_of(np.full((2, 2), 0.5, dtype=dt)) == [half] * 4
    assert raws_of(np.full(3, fmt.type.from_raw(7))) == [7] * 3
    assert np.full(3, fmt.type.from_raw(7)).dtype == dt
    one = oracle_raw(fmt, Fraction(1), "half_even", "saturate")
    assert raws_of(np.ones(2, dtype=dt)) == [one, one]
    values = ["0.1", Fraction(-1, 3), 0.25, 2, fmt.type.from_raw(5)]
    got = np.array(values, dtype=dt)
    assert raws_of(got) == [oracle_raw(fmt, Fraction(v) if not isinstance(v, fmt.type)
                                       else Fraction(5, fmt.scale), "half_even", "saturate")
                            for v in values]
    scalars = np.array([fmt.type.from_raw(1), fmt.type.from_raw(-2)])
    assert scalars.dtype == dt and raws_of(scalars) == [1, -2]


def test_structural_operations(fmt: Format, rng: np.random.Generator) -> None:
    x = sample(fmt, rng, 40)
    n = x.size
    raws = np.array(raws_of(x))
    m = x[: (n // 4) * 4].reshape(4, -1)
    assert m.dtype == x.dtype and raws_of(m.T) == raws[: m.size].reshape(4, -1).T.ravel().tolist()
    assert raws_of(np.concatenate([x, x[:3]])) == raws.tolist() + raws[:3].tolist()
    assert np.stack([x, x]).shape == (2, n) and np.stack([x, x]).dtype == x.dtype
    idx = rng.integers(0, n, size=10)
    assert raws_of(np.take(x, idx)) == raws[idx].tolist()
    assert raws_of(x[idx]) == raws[idx].tolist()  # fancy indexing
    mask = raws > 0
    assert raws_of(x[mask]) == raws[mask].tolist()
    assert raws_of(x[::-3]) == raws[::-3].tolist()
    assert raws_of(np.sort(x)) == sorted(raws.tolist())
    assert raws[np.argsort(x, kind="stable")].tolist() == sorted(raws.tolist())
    assert np.argmax(x) == int(np.argmax(raws)) and np.argmin(x) == int(np.argmin(raws))
    assert x.max().raw == raws.max() and np.min(x).raw == raws.min()
    assert type(np.max(x)) is fmt.type
    assert raws_of(np.maximum(x, x[::-1])) == np.maximum(raws, raws[::-1]).tolist()
    assert raws_of(np.minimum(x, x[::-1])) == np.minimum(raws, raws[::-1]).tolist()
    zero = fmt.type(0)
    assert raws_of(np.where(x > zero, x, zero)) == np.where(raws > 0, raws, 0).tolist()
    assert raws_of(np.unique(x)) == sorted(set(raws.tolist()))
    c = x.copy()
    assert not np.shares_memory(c, x) and raws_of(c) == raws.tolist()
    c[0] = fmt.type.from_raw(3)
    assert x[0].raw == raws[0]
    assert np.count_nonzero(x) == np.count_nonzero(raws)
    assert raws_of(np.flip(np.roll(x, 2))) == np.flip(np.roll(raws, 2)).tolist()
    assert [v.raw for v in x.tolist()] == raws.tolist()
    assert [v.raw for v in x.astype(object)] == raws.tolist()
    # Casts of strided views go through NumPy's buffering.
    assert x[::3].astype(np.float64).tolist() == [float(Fraction(int(r), fmt.scale))
                                                    for r in raws[::3]]
    assert raws_of(x[::-2].astype(fmt.type)) == raws[::-2].tolist()
    assert raws_of(np.ascontiguousarray(m.T)) == raws_of(m.T)


def test_broadcasting(fmt: Format) -> None:
    col = fixed_array(fmt, [[1], [2], [-3]])
    row = fixed_array(fmt, [10, -20])
    got = col + row
    assert got.shape == (3, 2) and got.dtype == np.dtype(fmt.type)
    want = [oracle_raw(fmt, Fraction(a + b, fmt.scale), "half_even", "saturate")
            for a in (1, 2, -3) for b in (10, -20)]
    assert raws_of(got) == want
    out = np.empty((3, 2), dtype=fmt.type)
    np.add(col, row, out=out)
    assert raws_of(out) == want


def test_comparison_ufuncs(fmt: Format, rng: np.random.Generator) -> None:
    a, b = sample(fmt, rng), sample(fmt, rng)
    ra, rb = np.array(raws_of(a)), np.array(raws_of(b))
    for ufunc in (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal):
        got = ufunc(a, b)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, ufunc(ra, rb), err_msg=ufunc.__name__)
    assert np.isfinite(a).all() and not np.isnan(a).any() and not np.isinf(a).any()


# ------------------------------------------------------------------------------------------
# Printing, pickling, saving
# ------------------------------------------------------------------------------------------
def test_printing_is_exact(fmt: Format) -> None:
    raws = raw_edges(fmt)[:6]
    x = fixed_array(fmt, raws)
    for text in (repr(x), str(x)):
        for r in raws:
            assert str(fmt.type.from_raw(r)) in text, (text, hex_of(fmt.bits)(r))
    assert fmt.name in repr(x)
    # repr(array) names the dtype as dtype='Fixed16_16' or dtype=Q7: evaluate it with that
    # name bound to the type.
    text = repr(x).replace(f"dtype='{fmt.name}'", f"dtype={fmt.name}")
    back = eval(text, {fmt.name: fmt.type, "array": np.array})
    assert back.dtype == x.dtype and raws_of(back) == raws


def test_pickle_arrays(fmt: Format, rng: np.random.Generator) -> None:
    x = sample(fmt, rng).reshape(2, -1)
    for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
        y = pickle.loads(pickle.dumps(x, protocol=proto))
        assert y.dtype == x.dtype and y.shape == x.shape and raws_of(y) == raws_of(x)
    y = pickle.loads(pickle.dumps(x[:, ::2]))  # non-contiguous
    assert raws_of(y) == raws_of(x[:, ::2])


def test_save_load_round_trips_the_raw_bits(fmt: Format, rng: np.random.Generator) -> None:
    """The .npy header records a legacy user dtype only by its kind and size ('|V4'), so
    np.load returns a void array; viewing it as the format gives back identical bits."""
    x = sample(fmt, rng).reshape(2, -1)
    buf = io.BytesIO()
    np.save(buf, x)
    buf.seek(0)
    loaded = np.load(buf)
    assert loaded.dtype.kind == "V" and loaded.dtype.itemsize == x.dtype.itemsize
    back = loaded.view(fmt.type)
    assert back.dtype == x.dtype and back.shape == x.shape
    np.testing.assert_array_equal(back.view(fmt.raw_dtype), x.view(fmt.raw_dtype))


# ------------------------------------------------------------------------------------------
# Threads
# ------------------------------------------------------------------------------------------
THREAD_POLICIES = [("floor", "wrap"), ("ceil", "saturate"), ("half_away", "saturate"),
                   ("toward_zero", "wrap")]


def test_threads_each_see_their_own_policy(rng: np.random.Generator) -> None:
    """4 threads, each inside its own fixedq.policy, run ufuncs and casts concurrently; each
    must get its own policy's results (the policy is a contextvar, not global state)."""
    fmt = next(f for f in FORMATS if f.name == "Fixed16_16")
    a = random_raws(fmt, rng, 20_000)
    b = random_raws(fmt, rng, 20_000)
    b[b == 0] = 1
    floats = rng.standard_normal(20_000) * 1000
    x, y = fixed_array(fmt, a), fixed_array(fmt, b)
    wide_a, wide_b = ints(a, False), ints(b, False)
    num, den = np.where(wide_b < 0, -wide_a * fmt.scale, wide_a * fmt.scale), np.abs(wide_b)
    scaled = np.ldexp(floats, fmt.fraction_bits + 12).astype(np.int64)  # exact: |.| < 2**53
    floats = np.ldexp(scaled.astype(np.float64), -(fmt.fraction_bits + 12))
    expected = {}
    for r, o in THREAD_POLICIES:
        expected[(r, o)] = (
            fixed_result(fmt, wide_a * wide_b, fmt.scale, r, o)[0],
            fixed_result(fmt, num, den, r, o)[0],
            fixed_result(fmt, scaled, 2**12, r, o)[0],
        )
    barrier = threading.Barrier(len(THREAD_POLICIES))
    errors: list[str] = []

    def work(r: str, o: str) -> None:
        try:
            with fixedq.policy(rounding=r, overflow=o):
                barrier.wait()
                for _ in range(5):
                    mul = (x * y).view(fmt.raw_dtype)
                    div = np.true_divide(x, y).view(fmt.raw_dtype)
                    cast = floats.astype(fmt.type).view(fmt.raw_dtype)
                    assert fixedq.get_policy() == (r, o)
                    for name, got, want in zip(("multiply", "divide", "cast"), (mul, div, cast),
                                               expected[(r, o)]):
                        if not np.array_equal(got, want):
                            bad = np.flatnonzero(got != want)[0]
                            errors.append(f"{name} under {r}/{o}: a={hex(int(a[bad]))} "
                                          f"b={hex(int(b[bad]))} got {hex(int(got[bad]))} "
                                          f"want {hex(int(want[bad]))}")
                            return
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(f"{r}/{o}: {exc!r}")

    threads = [threading.Thread(target=work, args=p) for p in THREAD_POLICIES]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert fixedq.get_policy() == ("half_even", "saturate")
    # The policies really differ on this data, so the test can tell them apart.
    muls = [expected[p][0] for p in THREAD_POLICIES]
    assert all(not np.array_equal(muls[i], muls[j]) for i in range(4) for j in range(i))
