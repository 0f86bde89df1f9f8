"""Deep Compression of one tensor: relative indices, canonical Huffman, k-means sharing, size arithmetic.

Oracles: hand-computed filler counts and codes, an independent optimal-code-length computation
(the sum of the weights merged by Huffman's algorithm, here with a sorted list instead of a
heap), the entropy bound, a direct NumPy Lloyd implementation, and the paper's toy example.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pytest

from fixedq import quant as fq
from fixedq.quant import (
    CompressedTensor,
    HuffmanStream,
    decode_relative_index,
    deep_compress_tensor,
    encode_relative_index,
    huffman_decode,
    huffman_encode,
    sharing_compression_ratio,
)

SEED = 20161


def rng(extra: int = 0) -> np.random.Generator:
    """Replicable randomness: rerun with the same SEED to repeat a failure."""
    return np.random.default_rng(SEED + extra)


# ---------------------------------------------------------------------------------------------
# relative index encoding
# ---------------------------------------------------------------------------------------------
def test_paper_example_code_c_means_gap_c_plus_1() -> None:
    # 3-bit gaps span 1..8; positions 1, 4, 15: gaps 2, 3, 11 -> 11 > 8 needs one filler (at 12)
    codes, filler = encode_relative_index(np.array([1, 4, 15]), 3)
    assert codes.tolist() == [1, 2, 7, 2]
    assert filler.tolist() == [False, False, True, False]
    assert decode_relative_index(codes, 3).tolist() == [1, 4, 12, 15]


def test_gap_of_exactly_two_to_the_b_needs_no_filler() -> None:
    codes, filler = encode_relative_index(np.array([7, 15]), 3)      # gaps 8 and 8
    assert codes.tolist() == [7, 7] and not filler.any()
    codes, filler = encode_relative_index(np.array([8]), 3)          # gap 9 = 8 + 1
    assert codes.tolist() == [7, 0] and filler.tolist() == [True, False]


def test_hand_counted_fillers_with_mask() -> None:
    mask = np.zeros(100, dtype=bool)
    mask[[0, 40, 41, 99]] = True
    # span 8; gaps 1, 40, 1, 58: fillers 0, (40-1)//8 = 4, 0, (58-1)//8 = 7; rests 1, 8, 1, 2
    codes, filler = encode_relative_index(mask, 3)
    assert int(filler.sum()) == 11 and codes.size == 15
    assert codes.tolist() == [0, 7, 7, 7, 7, 7, 0, 7, 7, 7, 7, 7, 7, 7, 1]
    pos = decode_relative_index(codes, 3)
    assert pos[~filler].tolist() == [0, 40, 41, 99]
    assert pos[filler].tolist() == [8, 16, 24, 32, 49, 57, 65, 73, 81, 89, 97]


def test_trailing_fillers_cover_the_tensor() -> None:
    mask = np.zeros((5, 10), dtype=bool)
    mask[0, 3] = True
    codes, filler = encode_relative_index(mask, 2)   # span 4: gap 4, then (49 - 3) // 4 = 11 trailing fillers
    assert codes.tolist() == [3] + [3] * 11
    pos = decode_relative_index(codes, 2)
    assert pos.tolist() == [3] + list(range(7, 48, 4)) and 50 - 1 - pos[-1] < 4
    codes, filler = encode_relative_index(np.zeros(10, dtype=bool), 2)   # nothing kept: 10 // 4 fillers
    assert codes.tolist() == [3, 3] and filler.all()
    codes, _ = encode_relative_index(np.array([3]), 2, size=50)           # positions plus size: same stream
    assert codes.tolist() == [3] * 12


@pytest.mark.parametrize("index_bits", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.1, 0.5, 1.0])
def test_relative_index_round_trip(index_bits: int, density: float) -> None:
    g = rng(index_bits * 100 + int(density * 100))
    mask = g.random((7, 131)) < density
    codes, filler = encode_relative_index(mask, index_bits)
    span = 1 << index_bits
    assert codes.dtype == np.uint16 and codes.size == filler.size
    assert (codes < span).all()
    pos = decode_relative_index(codes, index_bits)
    assert pos[~filler].tolist() == np.flatnonzero(mask).tolist()
    gaps = np.diff(np.flatnonzero(mask), prepend=-1)
    last = np.flatnonzero(mask)[-1] if mask.any() else -1
    assert int(filler.sum()) == int(((gaps - 1) // span).sum()) + (mask.size - 1 - last) // span
    assert mask.size - 1 - pos[-1] < span if pos.size else mask.size < span


def test_relative_index_errors() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        encode_relative_index(np.array([3, 3]), 4)
    with pytest.raises(ValueError, match="index_bits"):
        encode_relative_index(np.array([3]), 0)
    with pytest.raises(TypeError, match="boolean mask or a 1-D integer"):
        encode_relative_index(np.array([1.5]), 4)
    with pytest.raises(ValueError, match="outside"):
        encode_relative_index(np.array([9]), 4, size=5)
    with pytest.raises(ValueError, match=r"\[0, 8\)"):
        decode_relative_index(np.array([8]), 3)


# ---------------------------------------------------------------------------------------------
# canonical Huffman
# ---------------------------------------------------------------------------------------------
def optimal_cost(counts: list[int]) -> int:
    """Total bits of an optimal prefix code: the sum of all weights Huffman's algorithm merges."""
    items = sorted(c for c in counts if c > 0)
    total = 0
    while len(items) > 1:
        a, b = items.pop(0), items.pop(0)
        total += a + b
        bisect.insort(items, a + b)
    return total


def test_canonical_codes_by_hand() -> None:
    s = huffman_encode(np.array([0, 0, 0, 1, 2]))
    # lengths 1, 2, 2 -> canonical codes 0, 10, 11; stream 0 0 0 10 11 = 0001011, padded 00010110
    assert s.lengths.tolist() == [1, 2, 2] and s.num_bits == 7 and s.count == 5
    assert s.data == bytes([0b00010110])
    assert huffman_decode(s).tolist() == [0, 0, 0, 1, 2]


@pytest.mark.parametrize("case", range(12))
def test_huffman_round_trip_and_optimality(case: int) -> None:
    g = rng(1000 + case)
    n = int(g.integers(2, 300))
    probs = g.dirichlet(np.full(n, 0.3 if case % 2 else 3.0))
    x = g.choice(n, size=int(g.integers(2, 5000)), p=probs)
    s = huffman_encode(x)
    assert np.array_equal(huffman_decode(s), x)
    counts = np.bincount(x, minlength=s.lengths.size)
    used = counts > 0
    assert (s.lengths[used] > 0).all() and (s.lengths[~used] == 0).all()
    assert s.num_bits == int((counts * s.lengths).sum())
    if used.sum() >= 2:
        assert s.num_bits == optimal_cost(counts.tolist())
        assert sum(2.0 ** -int(ln) for ln in s.lengths[used]) == 1.0         # a complete prefix code
        p = counts[used] / counts.sum()
        entropy = float(-(p * np.log2(p)).sum())
        assert entropy <= s.num_bits / x.size < entropy + 1 + 1e-12
    assert len(s.data) == math.ceil(s.num_bits / 8)


def test_huffman_long_stream_crosses_blocks() -> None:
    # more than 2**16 symbols and bits: encoding and decoding run in blocks; codes straddle them
    g = rng(8)
    x = g.choice(7, size=150_001, p=[0.4, 0.2, 0.15, 0.1, 0.08, 0.05, 0.02])
    s = huffman_encode(x)
    assert s.num_bits > 3 * (1 << 16) and np.array_equal(huffman_decode(s), x)
    assert s.num_bits == optimal_cost(np.bincount(x).tolist())


def test_huffman_single_symbol_and_empty() -> None:
    s = huffman_encode(np.array([5, 5, 5]))
    assert s.lengths.tolist() == [0] * 5 + [1] and s.num_bits == 3
    assert huffman_decode(s).tolist() == [5, 5, 5]
    e = huffman_encode(np.zeros(0, np.int64))
    assert e.num_bits == 0 and e.count == 0 and e.data == b""
    assert huffman_decode(e).size == 0
    wide = huffman_encode(np.array([1, 2]), num_symbols=10)
    assert wide.lengths.size == 10 and huffman_decode(wide).tolist() == [1, 2]


def test_huffman_skewed_stream_has_long_codes() -> None:
    counts = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597]   # Fibonacci: depth 16
    x = np.repeat(np.arange(len(counts)), counts)
    rng(7).shuffle(x)
    s = huffman_encode(x)
    assert int(s.lengths.max()) == len(counts) - 1
    assert np.array_equal(huffman_decode(s), x) and s.num_bits == optimal_cost(counts)


def test_huffman_decode_rejects_corrupt_streams() -> None:
    s = huffman_encode(np.array([0, 1, 2, 2, 3, 1, 0, 2]))
    with pytest.raises(ValueError, match="end at bit|no valid code"):
        huffman_decode(HuffmanStream(s.lengths, s.data, s.num_bits - 1, s.count))
    with pytest.raises(ValueError, match="Kraft"):
        huffman_decode(HuffmanStream(np.array([1, 1, 1], np.uint8), s.data, s.num_bits, s.count))
    with pytest.raises(ValueError, match="bits in"):
        huffman_decode(HuffmanStream(s.lengths, s.data, 8 * len(s.data) + 1, s.count))
    lone = huffman_encode(np.array([0, 0]))          # the code is "0": a 1 bit is no code
    with pytest.raises(ValueError, match="no valid code"):
        huffman_decode(HuffmanStream(lone.lengths, bytes([0b01000000]), 2, 2))
    with pytest.raises(ValueError, match="non-negative"):
        huffman_encode(np.array([-1]))


# ---------------------------------------------------------------------------------------------
# the compressed tensor
# ---------------------------------------------------------------------------------------------
def lloyd(x: np.ndarray, k: int, iters: int = 300) -> np.ndarray:
    """Direct 1-D Lloyd k-means: linear init over [min, max], argmin assignment, empty clusters kept."""
    c = np.linspace(x.min(), x.max(), k)
    for _ in range(iters):
        idx = np.abs(x[:, None] - c[None, :]).argmin(axis=1)
        new = np.array([x[idx == j].mean() if np.any(idx == j) else c[j] for j in range(k)])
        if np.array_equal(new, c):
            break
        c = new
    return np.sort(c)


def test_paper_toy_example_ratio() -> None:
    w = rng(3).normal(size=(4, 4)).astype(np.float32)                 # 16 weights, 4 clusters
    ct = deep_compress_tensor(w, prune=0.0, bits=2, index_bits=4)
    s = ct.size_breakdown()
    assert ct.entries == 16 and ct.fillers == 0 and ct.codebook.size == 4 and not ct.zero_code
    assert s["weight_index_bits"] + s["codebook_bits"] == 16 * 2 + 4 * 32 == 160
    assert s["dense_bits"] / (s["weight_index_bits"] + s["codebook_bits"]) == 3.2
    assert sharing_compression_ratio(16, 4) == 3.2
    assert np.isin(ct.dense(), ct.codebook).all()


def test_size_arithmetic_by_hand() -> None:
    w = np.zeros((1, 40), np.float32)
    w[0, 0], w[0, 30] = 1.0, -2.0
    ct = deep_compress_tensor(w, prune=0.0, bits=2, index_bits=3)
    # gaps 1 and 30 (span 8): 3 fillers then a rest of 6; trailing 39 - 30 = 9 -> 1 filler
    assert ct.entries == 6 and ct.fillers == 4 and ct.nonzeros == 2
    assert ct.position_codes.tolist() == [0, 7, 7, 7, 5, 7]
    assert ct.zero_code and ct.codebook.tolist() == [0.0, -2.0, 1.0]      # 0 reserved, 2 learned centroids
    assert ct.weight_codes.tolist() == [2, 0, 0, 0, 1, 0]
    s = ct.size_breakdown()
    # weights: counts 4, 1, 1 -> lengths 1, 2, 2 -> 8 bits; positions: 7 x4, 0, 5 -> 8 bits
    # tables: 3 and 8 symbols, 8 bits each; codebook: 2 stored centroids (the zero is implicit)
    assert s == {"entries": 6, "fillers": 4, "weight_index_bits": 12, "position_bits": 18, "codebook_bits": 64,
                 "huffman_weight_bits": 8, "huffman_position_bits": 8, "huffman_table_bits": 88,
                 "fixed_bits": 94, "total_bits": 168, "dense_bits": 1280}
    assert ct.compression_ratio == 1280 / 168
    assert np.array_equal(ct.dense(), w)


@pytest.mark.parametrize("prune,bits", [(0.0, 3), (0.5, 4), (0.8, 5), (0.95, 2)])
def test_kmeans_matches_direct_lloyd(prune: float, bits: int) -> None:
    w = rng(int(prune * 100) + bits).normal(size=(48, 50)).astype(np.float32)
    ct = deep_compress_tensor(w, prune=prune, bits=bits, index_bits=8)
    _, mask = fq.prune(w, prune) if prune else (w, w != 0)
    survivors = w[mask].astype(np.float64)
    assert not ct.zero_code                                         # no gap over 256 at these densities
    ref = lloyd(survivors, 1 << bits)
    np.testing.assert_allclose(ct.codebook.astype(np.float64), ref, rtol=0, atol=1e-6)
    d = ct.dense()
    assert np.array_equal(d != 0, mask)
    nearest = ref[np.abs(survivors[:, None] - ref[None, :]).argmin(axis=1)]
    np.testing.assert_allclose(d[mask], nearest, rtol=0, atol=1e-6)
    assert d.dtype == np.float32 and d.shape == w.shape


def test_fillers_decode_to_exact_zero_and_survivors_never_use_code_zero() -> None:
    w = rng(11).normal(size=(30, 30))
    ct = deep_compress_tensor(w, prune=0.97, bits=3, index_bits=2)
    assert ct.fillers > 0 and ct.zero_code and ct.codebook[0] == 0
    assert ct.codebook.size == 8 and np.count_nonzero(ct.codebook) == 7
    filler = ct.weight_codes == 0
    pos = ct.positions()
    assert np.array_equal(np.sort(pos[~filler]), np.flatnonzero(fq.prune(w, 0.97)[1]))
    assert (ct.dense().reshape(-1)[pos[filler]] == 0).all()
    assert np.array_equal(huffman_decode(ct.weight_stream), ct.weight_codes)
    assert np.array_equal(huffman_decode(ct.position_stream), ct.position_codes)


def test_mask_argument_and_degenerate_tensors() -> None:
    w = rng(12).normal(size=(8, 8))
    mask = np.abs(w) > 1.0
    ct = deep_compress_tensor(w, None, 4, 4, mask=mask)
    assert np.array_equal(ct.dense() != 0, mask)
    z = deep_compress_tensor(np.zeros((3, 7)), prune=0.5, bits=2, index_bits=2)
    assert z.nonzeros == 0 and z.fillers == 21 // 4 and np.array_equal(z.dense(), np.zeros((3, 7), np.float32))
    one = deep_compress_tensor(np.full(5, 0.25), prune=0.0, bits=4, index_bits=4)
    assert one.codebook.tolist() == [0.25] and one.weight_stream.num_bits == 5
    assert "CompressedTensor(shape=(5,)" in repr(one)


def test_deep_compress_tensor_errors() -> None:
    w = np.ones((4, 4))
    with pytest.raises(ValueError, match="exactly one of prune and mask"):
        deep_compress_tensor(w, 0.5, mask=w > 0)
    with pytest.raises(ValueError, match="prune must be in"):
        deep_compress_tensor(w, 1.0)
    with pytest.raises(ValueError, match="bits must be in"):
        deep_compress_tensor(w, 0.5, bits=0)
    with pytest.raises(ValueError, match="mask must be a boolean array of shape"):
        deep_compress_tensor(w, None, mask=np.ones(3, bool))
    with pytest.raises(ValueError, match="NaN"):
        deep_compress_tensor(np.array([np.nan, 1.0]), 0.5)
    with pytest.raises(ValueError, match="outside the tensor"):
        CompressedTensor.from_codes((4,), 2, 2, np.array([1.0], np.float32), False, [0, 0], [3, 3])
    with pytest.raises(ValueError, match="cover the tensor"):
        CompressedTensor.from_codes((40,), 2, 2, np.array([1.0], np.float32), False, [0], [0])
    with pytest.raises(ValueError, match="codebook"):
        CompressedTensor.from_codes((4,), 2, 2, np.array([1.0], np.float32), False, [1], [3])


def test_docstring_examples() -> None:
    import doctest

    import fixedq.quant._compress

    result = doctest.testmod(fixedq.quant._compress, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
