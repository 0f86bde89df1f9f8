"""Deep Compression of whole models: the embedded CNN's target, the size arithmetic, the file format.

The file tests play an attacker: truncation at every offset class, flipped bytes, headers that
claim gigantic shapes or point outside the payload; every one must raise ValueError quickly.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from fixedq import nn
from fixedq import quant as fq
from fixedq.nn import CompressedModel, deep_compress, load_compressed

SEED = 1510


@pytest.fixture(scope="module")
def embedded() -> tuple[nn.Model, dict]:
    return nn.load_embedded(), nn.embedded_data()


@pytest.fixture(scope="module")
def compressed(embedded) -> CompressedModel:  # type: ignore[no-untyped-def]
    return deep_compress(embedded[0])


@pytest.fixture()
def saved(compressed: CompressedModel, tmp_path: Path) -> Path:
    path = tmp_path / "digits.fxqdc"
    compressed.save(path)
    return path


def accuracy(f, x: np.ndarray, y: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    return float((f(x).argmax(1) == y).mean())


def small_model() -> nn.Model:
    g = np.random.default_rng(SEED)
    return nn.Sequential(nn.Conv2d(g.normal(size=(4, 1, 3, 3)).astype(np.float32), np.zeros(4, np.float32)),
                         nn.ReLU(), nn.Flatten(),
                         nn.Linear(g.normal(size=(5, 4 * 6 * 6)).astype(np.float32), g.normal(size=5).astype(np.float32)))


# ---------------------------------------------------------------------------------------------
# the target on the embedded model
# ---------------------------------------------------------------------------------------------
def test_embedded_target_10x_smaller_at_most_half_a_point_lost(embedded, compressed) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    x, y = data["x"], data["y"]
    assert x.shape[0] == 1000
    loss_points = 100 * (accuracy(model, x, y) - accuracy(compressed, x, y))
    assert loss_points <= 0.5
    assert compressed.compression_ratio >= 10
    assert compressed.float_size_bytes == 4 * model.num_parameters()


def test_sizes_add_up(embedded, compressed) -> None:  # type: ignore[no-untyped-def]
    model, _ = embedded
    assert [ly.name for ly in compressed.layers] == [n.name for n in model.weighted_nodes()]
    total = 0
    for ly, node in zip(compressed.layers, model.weighted_nodes()):
        s = ly.tensor.size_breakdown()
        assert ly.bias_bits == 32 * model.params[node.inputs[2]].size
        assert ly.size_bits == s["huffman_weight_bits"] + s["huffman_position_bits"] + s["huffman_table_bits"] \
            + s["codebook_bits"] + ly.bias_bits
        assert (ly.tensor.bits, ly.tensor.index_bits) == ((8, 8) if node.op == "Conv" else (5, 5))
        total += ly.size_bits
    assert compressed.size_bytes == total / 8
    report = compressed.report()
    for ly in compressed.layers:
        assert ly.name in report and str(ly.size_bits) in report
    assert f"{compressed.compression_ratio:.1f}x" in report and str(total) in report
    assert repr(compressed).startswith("CompressedModel('digits_cnn', 4 layers")


def test_global_pruning_is_one_threshold(embedded, compressed) -> None:  # type: ignore[no-untyped-def]
    model, _ = embedded
    weights = [model.params[n.inputs[1]] for n in model.weighted_nodes()]
    _, masks = fq.prune(weights, 0.7, scope="global")
    for ly, mask in zip(compressed.layers, masks):
        assert np.array_equal(ly.tensor.dense() != 0, mask)
    kept = sum(ly.tensor.nonzeros for ly in compressed.layers)
    assert abs(kept / sum(w.size for w in weights) - 0.3) < 0.01


def test_runs_the_float_model_on_the_shared_weights(embedded, compressed) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    params = dict(model.params)
    for ly in compressed.layers:
        params[ly.param] = ly.tensor.dense()
    ref = nn.Model(model.nodes, params, model.inputs, model.outputs, model.input_shapes)
    x = data["x"][:64]
    assert np.array_equal(compressed(x), ref(x))
    assert not np.array_equal(model.params["fc1.weight"], compressed.model.params["fc1.weight"])


def test_per_layer_settings() -> None:
    model = small_model()
    conv, fc = (n.name for n in model.weighted_nodes())
    cm = deep_compress(model, prune={"fc": 0.5, conv: 0.25}, bits={fc: 3}, index_bits={conv: 2})
    a, b = cm.layers
    assert (a.kind, a.prune, a.tensor.bits, a.tensor.index_bits) == ("conv", 0.25, 8, 2)
    assert (b.kind, b.prune, b.tensor.bits, b.tensor.index_bits) == ("fc", 0.5, 3, 5)
    assert np.array_equal(b.tensor.dense() != 0, fq.prune(model.params[b.param], 0.5)[1])
    assert len(np.unique(b.tensor.dense())) <= 8 + 1
    only = deep_compress(model, prune={fc: 0.5})                # layers not named keep everything
    assert only.layers[0].tensor.nonzeros == 36


def test_deep_compress_errors() -> None:
    model = small_model()
    with pytest.raises(TypeError, match="fixedq.nn.Model"):
        deep_compress("model")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown layers"):
        deep_compress(model, prune={"nope": 0.5})
    with pytest.raises(TypeError, match="one float"):
        deep_compress(model, prune={"fc": 0.5}, scope="global")
    with pytest.raises(ValueError, match="scope"):
        deep_compress(model, scope="everything")
    with pytest.raises(ValueError, match="prune must be in"):
        deep_compress(model, prune=1.5, scope="layer")
    with pytest.raises(ValueError, match="no Conv/Gemm/MatMul"):
        deep_compress(nn.Sequential(nn.ReLU()))


# ---------------------------------------------------------------------------------------------
# the file format
# ---------------------------------------------------------------------------------------------
def test_round_trip_identical_weights(embedded, compressed, saved: Path) -> None:  # type: ignore[no-untyped-def]
    _, data = embedded
    back = load_compressed(saved)
    assert set(back.model.params) == set(compressed.model.params)
    for k, v in compressed.model.params.items():
        assert back.model.params[k].dtype == v.dtype and np.array_equal(back.model.params[k], v), k
    for a, b in zip(compressed.layers, back.layers):
        assert (a.name, a.op, a.kind, a.param, a.prune, a.bias_bits) == (b.name, b.op, b.kind, b.param, b.prune, b.bias_bits)
        assert a.tensor.size_breakdown() == b.tensor.size_breakdown()
        for sa, sb in ((a.tensor.weight_stream, b.tensor.weight_stream), (a.tensor.position_stream, b.tensor.position_stream)):
            assert (sa.data, sa.num_bits, sa.count, sa.lengths.tolist()) == (sb.data, sb.num_bits, sb.count, sb.lengths.tolist())
    assert np.array_equal(back(data["x"][:100]), compressed(data["x"][:100]))
    assert back.size_bytes == compressed.size_bytes
    assert saved.stat().st_size < compressed.size_bytes + 4096   # the graph header is small


def test_small_model_round_trip(tmp_path: Path) -> None:
    cm = deep_compress(small_model(), prune=0.9, scope="layer")
    cm.save(tmp_path / "s.fxqdc")
    back = load_compressed(str(tmp_path / "s.fxqdc"))
    x = np.random.default_rng(SEED).random((3, 1, 8, 8), dtype=np.float32)
    assert np.array_equal(back(x), cm(x))


def test_truncated_files_raise_value_error(saved: Path, tmp_path: Path) -> None:
    raw = saved.read_bytes()
    hlen = struct.unpack_from("<I", raw, 12)[0]
    cuts = sorted(set(list(range(0, 40)) + list(range(16 + hlen - 5, 16 + hlen + 40))
                      + list(range(0, len(raw), max(1, len(raw) // 97))) + [len(raw) - 1]))
    bad = tmp_path / "cut.fxqdc"
    for cut in cuts:
        bad.write_bytes(raw[:cut])
        with pytest.raises(ValueError):
            load_compressed(bad)


def test_flipped_bytes_never_crash(saved: Path, tmp_path: Path) -> None:
    raw = saved.read_bytes()
    bad = tmp_path / "flip.fxqdc"
    g = np.random.default_rng(SEED)
    hlen = struct.unpack_from("<I", raw, 12)[0]
    offsets = list(range(16)) + g.integers(16, len(raw), 100).tolist()
    outcomes = {"error": 0, "loaded": 0}
    for off in offsets:
        b = bytearray(raw)
        b[off] ^= 0xFF
        bad.write_bytes(bytes(b))
        try:
            m = load_compressed(bad)
        except ValueError:
            outcomes["error"] += 1
        else:  # a flip inside a codebook or a Huffman stream can decode to other finite weights
            outcomes["loaded"] += 1
            assert off >= 16 + hlen and isinstance(m, CompressedModel)
            for ly in m.layers:
                assert np.isfinite(ly.tensor.dense()).all()
    for off in range(16):
        assert off in offsets
    assert outcomes["error"] >= 16


def rewrite_header(raw: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    hlen = struct.unpack_from("<I", raw, 12)[0]
    header = json.loads(raw[16:16 + hlen])
    edit(header)
    text = json.dumps(header).encode()
    return raw[:12] + struct.pack("<I", len(text)) + text + raw[16 + hlen:]


@pytest.mark.parametrize("edit,match", [
    (lambda h: h["layers"][2].__setitem__("shape", [1 << 30, 1 << 30]), "not covered|max_elements"),
    (lambda h: h["layers"][2].__setitem__("shape", [1 << 40] * 8), "not a shape"),
    (lambda h: h["layers"][2].__setitem__("entries", 1 << 50), "outside"),
    (lambda h: h["layers"][2].__setitem__("entries", h["layers"][2]["entries"] - 1), "corrupt Huffman"),
    (lambda h: h["layers"][2]["weights"].__setitem__("data", [0, 1 << 40]), "byte range"),
    (lambda h: h["layers"][2]["weights"].__setitem__("num_bits", -1), "outside"),
    (lambda h: h["layers"][0].__setitem__("bits", 99), "outside"),
    (lambda h: h["layers"][0].__setitem__("param", "conv2.weight_folded"), "weight of a Conv"),
    (lambda h: h["arrays"][0].__setitem__("dtype", "object"), "dtype"),
    (lambda h: h["arrays"][0].__setitem__("shape", [10 ** 6]), "needs"),
    (lambda h: h["nodes"][1].__setitem__("op", "Evil"), "not supported"),
    (lambda h: h.__setitem__("payload_bytes", 3), "payload"),
    (lambda h: h.pop("layers"), "lacks 'layers'"),
    (lambda h: h["layers"].__setitem__(0, [1, 2]), "lacks"),
])
def test_hostile_headers_raise_value_error_quickly(saved: Path, tmp_path: Path, edit, match: str) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "hostile.fxqdc"
    bad.write_bytes(rewrite_header(saved.read_bytes(), edit))
    start = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        load_compressed(bad)
    assert time.perf_counter() - start < 1.0


def test_limits_and_foreign_files(saved: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_elements"):
        load_compressed(saved, max_elements=1000)
    raw = saved.read_bytes()
    bad = tmp_path / "other"
    bad.write_bytes(b"PK\x03\x04" + raw[4:])
    with pytest.raises(ValueError, match="magic"):
        load_compressed(bad)
    bad.write_bytes(raw[:8] + struct.pack("<I", 2) + raw[12:])
    with pytest.raises(ValueError, match="version 2"):
        load_compressed(bad)
    bad.write_bytes(raw[:12] + struct.pack("<I", 0xFFFFFFFF) + raw[16:])
    with pytest.raises(ValueError, match="header of"):
        load_compressed(bad)
    bad.write_bytes(raw[:16] + b"\xff" + raw[17:])
    with pytest.raises(ValueError, match="not JSON"):
        load_compressed(bad)
    with pytest.raises(FileNotFoundError):
        load_compressed(tmp_path / "missing")


def test_docstring_examples() -> None:
    import doctest

    import fixedq.nn._compress

    result = doctest.testmod(fixedq.nn._compress, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
