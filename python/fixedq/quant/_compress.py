"""Deep Compression of one tensor: pruning, k-means weight sharing, relative indices, Huffman (private).

Han, Mao and Dally, "Deep Compression" (ICLR 2016). The stages, as fixedq implements them:

1. **Pruning** with :func:`fixedq.quant.prune`'s rule (or an explicit mask).
2. **Relative index encoding** of the surviving positions in the flattened (C order) tensor: each
   stored entry carries the gap to the previous stored entry as a ``b``-bit code, **code c meaning
   a gap of c + 1** (1..2**b; the first gap is counted from position -1). A longer gap is bridged
   by *filler* entries of gap 2**b whose weight is an exact zero. Trailing fillers also cover the
   zeros after the last survivor, so that the stream spans the whole tensor
   (``size - 1 - last position < 2**b``): a reader can then bound the tensor by its stream.
3. **Weight sharing**: k-means over the survivors only, centroids initialised evenly over
   [min, max] ("linear", the paper's best), stored as a float32 codebook; every stored entry
   carries a ``bits``-bit cluster index. When the tensor needs fillers, code 0 is reserved for
   the exact zero they store and 2**bits - 1 centroids are learned; otherwise all 2**bits codes are
   centroids (never more centroids than distinct surviving values).
4. **Huffman coding** (canonical) of both streams, the cluster indices and the gap codes.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ._common import as_float_array, check_int, check_real
from ._prune import prune as prune_weights
from ._schemes import kmeans_1d

__all__ = ["CompressedTensor", "HuffmanStream", "deep_compress_tensor", "decode_relative_index",
           "encode_relative_index", "huffman_decode", "huffman_encode", "sharing_compression_ratio"]

#: Longest Huffman code fixedq writes or reads. Counts below 2**32 cannot produce longer codes
#: (a code of length L needs a total count of at least Fibonacci(L + 2)).
MAX_CODE_LENGTH = 48
#: Largest alphabet (cluster-index and gap codes have at most 16 bits).
MAX_ALPHABET = 1 << 16
_FLOAT_BITS = 32
_CHUNK = 1 << 16          # symbols (encoding) or bits (decoding) per vectorised block


# ---------------------------------------------------------------------------------------------
# relative index encoding
# ---------------------------------------------------------------------------------------------
def _check_index_bits(index_bits: Any, name: str = "index_bits") -> int:
    return check_int(index_bits, name, 1, 16)


def encode_relative_index(mask_or_positions: Any, index_bits: int, *,
                          size: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Encode sparse positions as gap codes with filler entries (Deep Compression's relative index).

    Parameters
    ----------
    mask_or_positions : array_like
        A boolean mask (any shape, read in C order; its size is the tensor size) or strictly
        increasing non-negative integer positions.
    index_bits : int
        Bits per gap code, 1..16 (Deep Compression: 8 for conv, 5 for fully connected layers).
    size : int, optional
        Tensor size for ``positions`` (a mask gives its own). When known, trailing fillers cover
        the zeros after the last position so that ``size - 1 - last stored position < 2**index_bits``.

    Returns
    -------
    (codes, filler)
        ``codes``: uint16, one per stored entry, code ``c`` meaning a gap of ``c + 1`` from the
        previous stored entry (from position -1 for the first). ``filler``: bool, True for the
        filler entries that store a zero weight.

    Examples
    --------
    >>> import numpy as np
    >>> codes, filler = encode_relative_index([1, 4, 15], 3)   # gap 11 > 8: one filler at 12
    >>> codes.tolist(), filler.tolist()
    ([1, 2, 7, 2], [False, False, True, False])
    """
    index_bits = _check_index_bits(index_bits)
    a = np.asarray(mask_or_positions)
    if a.dtype == np.bool_:
        if size is not None:
            raise ValueError("size is only for positions: a mask gives its own size")
        size = int(a.size)
        pos = np.flatnonzero(a.reshape(-1)).astype(np.int64)
    else:
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise TypeError(f"mask_or_positions must be a boolean mask or a 1-D integer array, got dtype {a.dtype} "
                            f"shape {a.shape}")
        pos = a.astype(np.int64)
        if pos.size and (pos[0] < 0 or np.any(np.diff(pos) <= 0)):
            raise ValueError("positions must be non-negative and strictly increasing")
        if size is not None:
            size = check_int(size, "size", 0)
            if pos.size and pos[-1] >= size:
                raise ValueError(f"position {int(pos[-1])} is outside a tensor of size {size}")
    span = 1 << index_bits
    gaps = np.diff(pos, prepend=-1)
    fill = (gaps - 1) // span                     # fillers before each real entry
    # interleave: each real entry is preceded by its fillers (gap 2**b each), then its rest gap
    counts = fill + 1
    out = np.full(int(counts.sum()), span - 1, np.int64)
    ends = np.cumsum(counts) - 1
    out[ends] = gaps - fill * span - 1
    filler = np.ones(out.size, dtype=bool)
    filler[ends] = False
    if size is not None:
        last = int(pos[-1]) if pos.size else -1
        tail = (size - 1 - last) // span
        out = np.concatenate([out, np.full(tail, span - 1, np.int64)])
        filler = np.concatenate([filler, np.ones(tail, dtype=bool)])
    return out.astype(np.uint16), filler


def decode_relative_index(codes: Any, index_bits: int) -> np.ndarray:
    """Positions of the stored entries (fillers included) from gap codes.

    Parameters
    ----------
    codes : array_like of int
        Gap codes in [0, 2**index_bits), code ``c`` meaning a gap of ``c + 1``.
    index_bits : int
        Bits per gap code, 1..16.

    Returns
    -------
    numpy.ndarray
        int64 positions, ``cumsum(codes + 1) - 1``.
    """
    index_bits = _check_index_bits(index_bits)
    c = np.asarray(codes)
    if c.ndim != 1 or (c.size and c.dtype.kind not in "iu"):
        raise TypeError(f"codes must be a 1-D integer array, got dtype {c.dtype} shape {c.shape}")
    c = c.astype(np.int64)
    if c.size and (c.min() < 0 or c.max() >= (1 << index_bits)):
        raise ValueError(f"gap codes must be in [0, {1 << index_bits}) for index_bits={index_bits}")
    return np.cumsum(c + 1) - 1


# ---------------------------------------------------------------------------------------------
# canonical Huffman coding
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, eq=False)
class HuffmanStream:
    """A canonical-Huffman-coded symbol stream.

    Attributes
    ----------
    lengths : numpy.ndarray
        uint8 code length of each symbol ``0..len(lengths)-1`` (0: symbol absent). Codes are
        canonical: sorted by (length, symbol), consecutive integers, so the lengths define them.
    data : bytes
        The codes, most significant bit first, zero-padded to a whole byte.
    num_bits : int
        Bits of ``data`` that are codes.
    count : int
        Number of symbols.
    """

    lengths: np.ndarray
    data: bytes
    num_bits: int
    count: int

    @property
    def table_bits(self) -> int:
        """Bits of the code-length table as fixedq stores it (8 per symbol up to the largest used)."""
        return 8 * int(self.lengths.size)

    def decode(self) -> np.ndarray:
        """The symbols (same as :func:`huffman_decode`)."""
        return huffman_decode(self)

    def __repr__(self) -> str:
        return (f"HuffmanStream({self.count} symbols, alphabet {self.lengths.size}, {self.num_bits} bits, "
                f"max code length {int(self.lengths.max()) if self.lengths.size else 0})")


def huffman_code_lengths(counts: Any) -> np.ndarray:
    """Optimal (Huffman) code lengths for symbol counts; 0 for absent symbols, 1 for a lone symbol."""
    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.zeros(counts.size, dtype=np.int64)
    present = np.flatnonzero(counts > 0)
    if present.size == 1:
        lengths[present] = 1
    if present.size <= 1:
        return lengths
    # heap of (weight, tie-break, node); leaves are 0..n-1, internal nodes n.. with parent links
    heap = [(int(counts[s]), i, i) for i, s in enumerate(present)]
    heapq.heapify(heap)
    parent = [-1] * (2 * present.size - 1)
    nxt = present.size
    while len(heap) > 1:
        w1, _, a = heapq.heappop(heap)
        w2, _, b = heapq.heappop(heap)
        parent[a] = parent[b] = nxt
        heapq.heappush(heap, (w1 + w2, nxt, nxt))
        nxt += 1
    depth = [0] * len(parent)
    for node in range(len(parent) - 2, -1, -1):   # parents have larger ids: root first
        depth[node] = depth[parent[node]] + 1
    lengths[present] = depth[:present.size]
    return lengths


def _canonical(lengths: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(symbols sorted by (length, symbol), their canonical codes)."""
    order = np.lexsort((np.arange(lengths.size), lengths))
    order = order[lengths[order] > 0]
    codes = np.zeros(order.size, dtype=np.uint64)
    code, prev = 0, 0
    for i, s in enumerate(order.tolist()):
        ln = int(lengths[s])
        code <<= ln - prev
        codes[i] = code
        code += 1
        prev = ln
    return order, codes


def check_lengths(lengths: Any) -> np.ndarray:
    """Validate a code-length table (size, range, Kraft inequality); ValueError if it is no prefix code."""
    ln = np.asarray(lengths)
    if ln.ndim != 1 or ln.dtype.kind not in "iu":
        raise ValueError(f"Huffman code lengths must be a 1-D integer array, got dtype {ln.dtype} shape {ln.shape}")
    if ln.size > MAX_ALPHABET:
        raise ValueError(f"Huffman alphabet of {ln.size} symbols exceeds {MAX_ALPHABET}")
    ln = ln.astype(np.int64)
    if ln.size and (ln.min() < 0 or ln.max() > MAX_CODE_LENGTH):
        raise ValueError(f"Huffman code lengths must be in [0, {MAX_CODE_LENGTH}]")
    kraft = sum(1 << (MAX_CODE_LENGTH - int(v)) for v in ln[ln > 0].tolist())
    if kraft > 1 << MAX_CODE_LENGTH:
        raise ValueError("Huffman code lengths violate the Kraft inequality: not a prefix code")
    return ln


def huffman_encode(symbols: Any, num_symbols: Optional[int] = None) -> HuffmanStream:
    """Canonical Huffman coding of a stream of small non-negative integers.

    Parameters
    ----------
    symbols : array_like of int
        The stream (1-D), values in [0, num_symbols).
    num_symbols : int, optional
        Alphabet size (at most 65536); default ``max(symbols) + 1``.

    Returns
    -------
    HuffmanStream
        Code lengths (an optimal prefix code for the stream's counts; a lone symbol gets a 1-bit
        code, an empty stream no code), the packed bits and the count.

    Examples
    --------
    >>> s = huffman_encode([0, 0, 0, 1, 2])
    >>> s.lengths.tolist(), s.num_bits, huffman_decode(s).tolist()
    ([1, 2, 2], 7, [0, 0, 0, 1, 2])
    """
    s = np.asarray(symbols)
    if s.ndim != 1 or (s.size and s.dtype.kind not in "iu"):
        raise TypeError(f"symbols must be a 1-D integer array, got dtype {s.dtype} shape {s.shape}")
    s = s.astype(np.int64)
    if s.size and s.min() < 0:
        raise ValueError("symbols must be non-negative")
    top = int(s.max()) + 1 if s.size else 0
    n = top if num_symbols is None else check_int(num_symbols, "num_symbols", top, MAX_ALPHABET)
    if n > MAX_ALPHABET:
        raise ValueError(f"symbols must be below {MAX_ALPHABET}")
    lengths = huffman_code_lengths(np.bincount(s, minlength=n))
    if lengths.size and lengths.max() > MAX_CODE_LENGTH:  # needs more than 2**32 symbols
        raise ValueError(f"stream too long: a Huffman code exceeds {MAX_CODE_LENGTH} bits")
    order, codes = _canonical(lengths)
    code_of = np.zeros(n, dtype=np.uint64)
    code_of[order] = codes
    total = int(lengths[s].sum())
    pieces = []
    for start in range(0, s.size, _CHUNK):             # bounded temporaries on large layers
        sym = s[start:start + _CHUNK]
        ln = lengths[sym]
        width = int(ln.max())
        shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)              # MSB first
        bitmat = ((code_of[sym][:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)
        # a code of length l is the last l of the `width` columns of its row
        pieces.append(bitmat[np.arange(width)[None, :] >= (width - ln)[:, None]])
    data = np.packbits(np.concatenate(pieces)).tobytes() if total else b""
    return HuffmanStream(lengths.astype(np.uint8), data, total, int(s.size))


def huffman_decode(stream: HuffmanStream) -> np.ndarray:
    """Decode a :class:`HuffmanStream` back to its symbols (int64).

    Raises
    ------
    ValueError
        If the lengths are not a prefix code, or the bits do not hold ``count`` valid codes.
    """
    if not isinstance(stream, HuffmanStream):
        raise TypeError(f"stream must be a HuffmanStream, got {type(stream).__name__}")
    lengths = check_lengths(stream.lengths)
    count, nbits = int(stream.count), int(stream.num_bits)
    if count < 0 or nbits < 0 or nbits > 8 * len(stream.data):
        raise ValueError(f"Huffman stream claims {nbits} bits in {len(stream.data)} bytes")
    if count == 0:
        if nbits:
            raise ValueError("an empty Huffman stream must have no bits")
        return np.zeros(0, np.int64)
    if count > nbits:
        raise ValueError(f"Huffman stream claims {count} symbols in {nbits} bits (every code has at least 1 bit)")
    order, codes = _canonical(lengths)
    if order.size == 0:
        raise ValueError("Huffman stream has symbols but no codes")
    width = int(lengths.max())
    bits = np.unpackbits(np.frombuffer(stream.data, dtype=np.uint8))[:nbits]
    bits = np.concatenate([bits, np.zeros(width, np.uint8)]).astype(np.uint64)
    # canonical codes left-justified to `width` bits are increasing in (length, symbol) order
    sorted_len = lengths[order]
    left = codes << (np.uint64(width) - sorted_len.astype(np.uint64))
    out: list = []
    pos = 0
    for start in range(0, nbits, _CHUNK):
        stop = min(start + _CHUNK, nbits)
        win = np.zeros(stop - start, dtype=np.uint64)       # the `width` bits from each position
        for j in range(width):
            win = (win << np.uint64(1)) | bits[start + j:stop + j]
        slot = np.searchsorted(left, win, side="right") - 1  # the code whose range holds win
        slot_c = np.maximum(slot, 0)
        span = np.uint64(1) << (np.uint64(width) - sorted_len[slot_c].astype(np.uint64))
        valid = (slot >= 0) & (win - left[slot_c] < span)
        step = np.where(valid, sorted_len[slot_c], 0).tolist()
        sym = order[slot_c].tolist()
        while len(out) < count and pos < stop:
            k = pos - start
            if step[k] == 0:
                raise ValueError(f"corrupt Huffman stream: no valid code at bit {pos} (symbol {len(out)} of {count})")
            out.append(sym[k])
            pos += step[k]
        if len(out) == count:
            break
    if len(out) < count:
        raise ValueError(f"corrupt Huffman stream: the {nbits} bits end after {len(out)} of {count} symbols")
    if pos != nbits:
        raise ValueError(f"corrupt Huffman stream: {count} symbols end at bit {pos}, the stream has {nbits}")
    return np.asarray(out, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# the compressed tensor
# ---------------------------------------------------------------------------------------------
def sharing_compression_ratio(n: int, k: int, b: int = 32) -> float:
    """The paper's weight-sharing ratio ``n*b / (n*log2(k) + k*b)`` (n weights of b bits, k shared).

    Examples
    --------
    >>> sharing_compression_ratio(16, 4)   # the paper's 4x4 example
    3.2
    """
    n, k, b = check_int(n, "n", 1), check_int(k, "k", 1), check_int(b, "b", 1)
    return n * b / (n * math.log2(k) + k * b)


@dataclasses.dataclass(frozen=True, eq=False)
class CompressedTensor:
    """A Deep-Compressed weight tensor (see :func:`deep_compress_tensor`).

    Attributes
    ----------
    shape : tuple of int
        Shape of the dense tensor.
    bits : int
        Bits of a cluster index.
    index_bits : int
        Bits of a relative-position (gap) code.
    codebook : numpy.ndarray
        float32 shared weights; ``codebook[0] == 0`` is the fillers' code when ``zero_code``.
    zero_code : bool
        Whether code 0 is reserved for the exact zero of the fillers.
    weight_codes : numpy.ndarray
        uint16 cluster index of each stored entry (fillers included).
    position_codes : numpy.ndarray
        uint16 gap code of each stored entry (code c: gap c + 1).
    weight_stream, position_stream : HuffmanStream
        The two streams, Huffman coded.
    """

    shape: Tuple[int, ...]
    bits: int
    index_bits: int
    codebook: np.ndarray
    zero_code: bool
    weight_codes: np.ndarray
    position_codes: np.ndarray
    weight_stream: HuffmanStream
    position_stream: HuffmanStream

    @property
    def size(self) -> int:
        """Number of elements of the dense tensor."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def entries(self) -> int:
        """Stored entries, fillers included."""
        return int(self.weight_codes.size)

    @property
    def fillers(self) -> int:
        """Filler entries (zero weights that only advance the position)."""
        return int(np.count_nonzero(self.weight_codes == 0)) if self.zero_code else 0

    @property
    def nonzeros(self) -> int:
        """Survivors of pruning (stored entries that are not fillers)."""
        return self.entries - self.fillers

    def positions(self) -> np.ndarray:
        """Flat (C order) positions of the stored entries, fillers included."""
        return decode_relative_index(self.position_codes, self.index_bits)

    def dense(self) -> np.ndarray:
        """The reconstructed float32 tensor: shared weights at the stored positions, zeros elsewhere."""
        out = np.zeros(self.size, dtype=np.float32)
        out[self.positions()] = self.codebook[self.weight_codes.astype(np.int64)]
        return out.reshape(self.shape)

    def size_breakdown(self) -> Dict[str, int]:
        """The paper's storage terms, in bits.

        Returns
        -------
        dict
            ``entries`` and ``fillers`` (counts); ``weight_index_bits`` (entries x bits);
            ``position_bits`` (entries x index_bits); ``codebook_bits`` (stored centroids x 32: the
            reserved zero is not stored); ``huffman_weight_bits`` and ``huffman_position_bits``
            (the coded streams); ``huffman_table_bits`` (both code-length tables, 8 bits a
            symbol up to the largest used); ``fixed_bits`` (index + position + codebook, before Huffman); ``total_bits``
            (Huffman streams + tables + codebook: what the file stores); ``dense_bits``
            (32 x size). No CSR pointers: positions run over the flattened tensor.
        """
        e = self.entries
        book = (int(self.codebook.size) - int(self.zero_code)) * _FLOAT_BITS
        hw, hp = self.weight_stream.num_bits, self.position_stream.num_bits
        table = self.weight_stream.table_bits + self.position_stream.table_bits
        return {"entries": e, "fillers": self.fillers, "weight_index_bits": e * self.bits,
                "position_bits": e * self.index_bits, "codebook_bits": book, "huffman_weight_bits": hw,
                "huffman_position_bits": hp, "huffman_table_bits": table,
                "fixed_bits": e * (self.bits + self.index_bits) + book, "total_bits": hw + hp + table + book,
                "dense_bits": _FLOAT_BITS * self.size}

    @property
    def compression_ratio(self) -> float:
        """Dense float32 size over the compressed size (``total_bits``)."""
        s = self.size_breakdown()
        return s["dense_bits"] / max(s["total_bits"], 1)

    def __repr__(self) -> str:
        return (f"CompressedTensor(shape={self.shape}, {self.nonzeros} of {self.size} kept, {self.fillers} fillers, "
                f"{self.bits}-bit clusters ({self.codebook.size} codes), {self.index_bits}-bit gaps, "
                f"{self.compression_ratio:.1f}x)")

    @classmethod
    def from_codes(cls, shape: Any, bits: int, index_bits: int, codebook: Any, zero_code: bool,
                   weight_codes: Any, position_codes: Any) -> "CompressedTensor":
        """Build (and validate) a tensor from its codes; the Huffman streams are computed.

        Raises
        ------
        ValueError
            If the codes do not fit the bits, the positions leave the tensor, a filler code is
            used without ``zero_code``, or the codebook is not float32-finite.
        """
        shape = tuple(check_int(d, "shape", 0) for d in shape)
        bits, index_bits = check_int(bits, "bits", 1, 16), _check_index_bits(index_bits)
        book = np.asarray(codebook)
        if book.ndim != 1 or book.dtype != np.float32 or not np.isfinite(book).all():
            raise ValueError("codebook must be a 1-D finite float32 array")
        if book.size > 1 << bits:
            raise ValueError(f"codebook of {book.size} entries does not fit {bits}-bit codes")
        if zero_code and (book.size == 0 or book[0] != 0):
            raise ValueError("with zero_code, codebook[0] must be 0")
        wc, pc = np.asarray(weight_codes), np.asarray(position_codes)
        if wc.shape != pc.shape or wc.ndim != 1:
            raise ValueError(f"weight_codes and position_codes must be 1-D of one length, got {wc.shape} and {pc.shape}")
        if wc.size and (wc.min() < 0 or wc.max() >= book.size):
            raise ValueError(f"weight codes must index the {book.size}-entry codebook")
        pos = decode_relative_index(pc, index_bits)
        size = int(np.prod(shape, dtype=np.int64))
        last = int(pos[-1]) if pos.size else -1
        if last >= size:
            raise ValueError(f"stored position {last} is outside the tensor of {size} elements")
        if size - 1 - last >= 1 << index_bits:
            raise ValueError("the position stream must cover the tensor (trailing fillers)")
        wc16, pc16 = wc.astype(np.uint16), pc.astype(np.uint16)
        return cls(shape, bits, index_bits, book, bool(zero_code), wc16, pc16,
                   huffman_encode(wc16), huffman_encode(pc16))


def deep_compress_tensor(w: Any, prune: Optional[float] = 0.9, bits: int = 5, index_bits: int = 5, *,
                         mask: Any = None, max_iter: int = 300) -> CompressedTensor:
    """Deep-Compress one weight tensor: prune, share weights by k-means, encode positions, Huffman.

    Parameters
    ----------
    w : array_like
        The float weights (any shape).
    prune : float or None
        Fraction in [0, 1) of the non-zero weights to remove by magnitude (the rule of
        :func:`fixedq.quant.prune`); None with ``mask``.
    bits : int
        Bits of a cluster index, 1..16: up to 2**bits shared weights (8 for conv, 5 for fully
        connected in the paper).
    index_bits : int
        Bits of a gap code, 1..16 (8 for conv, 5 for fully connected in the paper).
    mask : array_like of bool, optional
        The weights to keep, instead of ``prune`` (for instance from a global threshold).
    max_iter : int
        Lloyd iterations at most.

    Returns
    -------
    CompressedTensor
        ``.dense()`` gives the float32 weights back; ``.size_breakdown()`` the paper's terms.

    Raises
    ------
    TypeError, ValueError
        On bad data or arguments (both or neither of ``prune`` and ``mask``, mask of another shape).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    >>> ct = deep_compress_tensor(w, prune=0.9, bits=5, index_bits=5)
    >>> ct.nonzeros, ct.fillers, ct.codebook.size
    (410, 21, 32)
    >>> bool(np.all((ct.dense() == 0) == (np.abs(w) < np.quantile(np.abs(w), 0.9))))
    True
    """
    a = as_float_array(w, "w")
    bits, index_bits = check_int(bits, "bits", 1, 16), _check_index_bits(index_bits)
    max_iter = check_int(max_iter, "max_iter", 1)
    if (prune is None) == (mask is None):
        raise ValueError("give exactly one of prune and mask")
    if mask is not None:
        keep = np.asarray(mask)
        if keep.dtype != np.bool_ or keep.shape != a.shape:
            raise ValueError(f"mask must be a boolean array of shape {a.shape}, got dtype {keep.dtype} shape {keep.shape}")
        keep = keep & (a != 0)
    else:
        sparsity = check_real(prune, "prune")
        if not 0 <= sparsity < 1:
            raise ValueError(f"prune must be in [0, 1), got {sparsity}")
        keep = prune_weights(a, sparsity)[1] if sparsity > 0 else a != 0
    pcodes, filler = encode_relative_index(keep, index_bits)
    survivors = a.reshape(-1)[keep.reshape(-1)].astype(np.float64)
    zero_code = bool(filler.any())
    k = min((1 << bits) - int(zero_code), np.unique(survivors).size)   # no centroid without a value
    if k > 0:
        centroids, idx = kmeans_1d(survivors, k, "linear", max_iter, np.random.default_rng(0))
    else:
        centroids, idx = np.zeros(0), np.zeros(0, np.int64)
    book = np.concatenate([[0.0] if zero_code else [], centroids]).astype(np.float32)
    wcodes = np.zeros(filler.size, dtype=np.int64)
    wcodes[~filler] = idx + int(zero_code)
    return CompressedTensor.from_codes(a.shape, bits, index_bits, book, zero_code, wcodes, pcodes)
