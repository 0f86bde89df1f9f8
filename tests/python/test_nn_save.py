"""QuantizedModel.save / fixedq.load: bit-identical round trips, and hostile files rejected.

The oracle of a round trip is the saved model itself: the loaded model's outputs must be
``np.array_equal`` to the original's, for int8 and simulated modes and every family of schemes.
A damaged or hostile file must raise ValueError (never crash, never allocate what it declares).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict

import numpy as np
import pytest

import fixedq
from fixedq import nn

pytest.importorskip("onnx")

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def embedded():  # type: ignore[no-untyped-def]
    return nn.load_embedded(), nn.embedded_data()


CONFIGS = {
    "int8 symmetric per-channel": fixedq.QuantConfig("symmetric"),
    "int8 affine per-tensor": fixedq.QuantConfig("affine", per_channel=False),
    "int8, fc2 kept in float": fixedq.QuantConfig(overrides={"fc2": "float"}),
    "dynamic_fixed_point 8": fixedq.QuantConfig("dynamic_fixed_point"),
    "dynamic_fixed_point 16": fixedq.QuantConfig("dynamic_fixed_point", weight_bits=16, activation_bits=16),
    "kmeans 4, float activations": fixedq.QuantConfig("kmeans", weight_bits=4, activation_bits=None),
    "kmeans 5 per-tensor": fixedq.QuantConfig("kmeans", weight_bits=5, per_channel=False),
    "ternary": fixedq.QuantConfig("ternary", activation_bits=None),
    "binary bwn": fixedq.QuantConfig("binary"),
    "minifloat 8": fixedq.QuantConfig("minifloat"),
    "power_of_two 4": fixedq.QuantConfig("power_of_two", weight_bits=4),
    "dorefa 2": fixedq.QuantConfig("dorefa", weight_bits=2, activation_bits=None),
    "dorefa 1": fixedq.QuantConfig("dorefa", weight_bits=1, activation_bits=None),
    "affine 6, percentile": fixedq.QuantConfig("affine", weight_bits=6, activation_bits=6, calibrator="percentile",
                                               calibrator_options={"percentile": 99.9}),
    "overrides: conv1 float, fc1 4-bit kmeans": fixedq.QuantConfig(
        "symmetric", overrides={"conv1": "float", "fc1": {"scheme": "kmeans", "weight_bits": 4}}),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_round_trip_is_bit_identical(embedded, tmp_path, name) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:100], CONFIGS[name])
    x = data["x"][:100]
    expected = q(x)
    for include_float in (True, False):
        path = tmp_path / f"model{include_float}.fxq"
        q.save(path, include_float=include_float)
        loaded = fixedq.load(path)
        assert np.array_equal(loaded(x), expected)
        assert loaded.mode == q.mode and loaded.config == q.config and repr(loaded) == repr(q)
        assert loaded.layers == q.layers and loaded.float_islands == q.float_islands
        assert loaded.size_bytes == q.size_bytes and loaded.float_size_bytes == q.float_size_bytes
        assert loaded.has_float_weights is include_float
        for layer, qt in q.state.qweights.items():
            got = loaded.state.qweights[layer]
            assert np.array_equal(got.codes, qt.codes) and got.codes.dtype == qt.codes.dtype
            assert np.array_equal(got.dequantize(), qt.dequantize()) and got.storage_bits == qt.storage_bits
        # With the float weights the float model comes back as it was; without, it carries the
        # dequantized weights of the quantized layers.
        assert np.array_equal(loaded.float_model(x), model(x)) is (include_float or not q.state.qweights)


def test_include_float_false_is_smaller_and_resaves(embedded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:100], fixedq.QuantConfig("kmeans", weight_bits=4,
                                                                             activation_bits=None))
    full, small = tmp_path / "full.npz", tmp_path / "small.npz"
    q.save(full)
    q.save(small, include_float=False)
    # The float32 weights are 4 bytes per weight: the small file lacks most of them.
    assert full.stat().st_size - small.stat().st_size > 2.5 * model.num_parameters()
    loaded = fixedq.load(small)
    again = tmp_path / "again.npz"
    loaded.save(again)  # a model without float weights cannot invent them
    assert fixedq.load(again).has_float_weights is False
    x = data["x"][:100]
    assert np.array_equal(fixedq.load(again)(x), q(x))


def test_sequential_model_round_trip(tmp_path) -> None:
    model = nn.Sequential(
        nn.Conv2d(RNG.normal(size=(4, 1, 3, 3)).astype(np.float32), np.zeros(4, np.float32), padding=1, stride=2),
        nn.ReLU6(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(RNG.normal(size=(3, 16)).astype(np.float32)),
        nn.Softmax(), input_shape=(1, 8, 8))
    x = RNG.normal(size=(20, 1, 8, 8)).astype(np.float32)
    for cfg in (fixedq.QuantConfig("affine"), fixedq.QuantConfig("minifloat", weight_bits=6, activation_bits=6)):
        q = fixedq.quantize(model, x, cfg)
        q.save(tmp_path / "s.npz")
        assert np.array_equal(fixedq.load(tmp_path / "s.npz")(x), q(x))


# ---------------------------------------------------------------------------------------------
# Damaged and hostile files
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(embedded, tmp_path_factory):  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:100], fixedq.QuantConfig("kmeans", weight_bits=4))
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    q.save(path, include_float=False)
    return q, path, path.read_bytes(), data["x"][:20]


def members(blob: bytes) -> Dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def rewrite(blob: bytes, path: Path, edit: Callable[[Dict[str, Any], Dict[str, np.ndarray]], None]) -> Path:
    """A copy of the file with its JSON and arrays edited."""
    arrays = members(blob)
    meta = json.loads(arrays.pop("meta").tobytes())
    edit(meta, arrays)
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    return path


def test_truncated_files_raise_value_error(saved, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, _, blob, _ = saved
    path = tmp_path / "cut.npz"
    for cut in sorted(set(np.linspace(0, len(blob) - 1, 60).astype(int)) | {1, 4, 22, len(blob) - 22}):
        path.write_bytes(blob[:cut])
        with pytest.raises(ValueError, match="cut.npz"):
            fixedq.load(path)


def test_flipped_bytes_raise_or_change_nothing(saved, tmp_path) -> None:  # type: ignore[no-untyped-def]
    q, _, blob, x = saved
    path = tmp_path / "flip.npz"
    expected = q(x)
    raised = 0
    for pos in np.linspace(0, len(blob) - 1, 80).astype(int):
        damaged = bytearray(blob)
        damaged[pos] ^= 0x5A
        path.write_bytes(bytes(damaged))
        try:
            loaded = fixedq.load(path)
        except ValueError:
            raised += 1
            continue
        # A flip that zip does not notice (a timestamp, an unused field) must not change the model.
        assert np.array_equal(loaded(x), expected), f"byte {pos} changed the model silently"
    assert raised > 60


@pytest.mark.parametrize("edit,message", [
    (lambda m, a: m.update(format="something.else"), "not a fixedq model file"),
    (lambda m, a: m.update(version=2), "version 2"),
    (lambda m, a: m["config"].update(weight_bits="4"), "config.weight_bits must be int"),
    (lambda m, a: m["config"].update(scheme="float16"), "scheme must be one of"),
    (lambda m, a: m["model"]["nodes"][0].update(op="LSTM"), "'LSTM' is not an operator"),
    (lambda m, a: m["model"]["nodes"][0]["attrs"].update(strides=[0, 1]), "strides"),
    (lambda m, a: m["model"]["nodes"][0]["attrs"].update(pads="1"), "pads"),
    (lambda m, a: m["model"]["nodes"][1].update(inputs=["nowhere"]), "no earlier node produces"),
    (lambda m, a: m["qweights"]["conv1"].update(scheme="gptq"), "not a known scheme"),
    (lambda m, a: m["qweights"]["conv1"].update(codes="a9999"), "does not hold"),
    (lambda m, a: m["qweights"].pop("fc1"), "exactly the quantized layers"),
    (lambda m, a: m["ranges"].popitem(), "ranges must hold exactly"),
    (lambda m, a: m["ranges"]["input"].update(threshold=float("inf")), "finite"),
    (lambda m, a: m["ranges"]["input"].update(threshold=-1.0), "threshold >= 0"),
    (lambda m, a: m["qweights"]["conv1"]["params"]["k"].update(json=10**9), "codebook"),
    (lambda m, a: m["qweights"]["conv1"]["params"]["init"].update(json="psychic"), "init"),
    (lambda m, a: m["qweights"]["conv1"]["params"].pop("axis"), "must have the keys"),
    (lambda m, a: m["model"]["dropped"].update({"conv1.weight_folded": [10**9, 10**9, 10**9, 10**9]}),
     "shape of 1 to 4"),
    (lambda m, a: a.update({"extra": np.zeros(3)}), "not referenced"),
])
def test_inconsistent_metadata_raises_value_error(saved, tmp_path, edit,  # type: ignore[no-untyped-def]
                                                  message) -> None:
    _, _, blob, _ = saved
    path = rewrite(blob, tmp_path / "bad.npz", edit)
    with pytest.raises(ValueError, match=message):
        fixedq.load(path)


def test_arrays_that_disagree_with_the_graph_raise(saved, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, _, blob, _ = saved

    def wrong_shape(meta, arrays):  # type: ignore[no-untyped-def]
        key = meta["qweights"]["conv2"]["codes"]
        arrays[key] = arrays[key][:, :3]

    def float_codes(meta, arrays):  # type: ignore[no-untyped-def]
        key = meta["qweights"]["fc2"]["codes"]
        arrays[key] = arrays[key].astype(np.float32)

    def bad_index(meta, arrays):  # type: ignore[no-untyped-def]
        key = meta["qweights"]["fc1"]["codes"]
        arrays[key] = arrays[key].copy()
        arrays[key].flat[5] = 16  # 4-bit k-means: centroids 0..15

    def nan_codebook(meta, arrays):  # type: ignore[no-untyped-def]
        key = meta["qweights"]["fc1"]["params"]["codebook"]["array"]
        arrays[key] = arrays[key].copy()
        arrays[key].flat[0] = np.nan

    for edit, message in ((wrong_shape, "must be integers of shape"), (float_codes, "must be integers"),
                          (bad_index, "index no centroid"), (nan_codebook, "finite reals")):
        with pytest.raises(ValueError, match=message):
            fixedq.load(rewrite(blob, tmp_path / "bad.npz", edit))


def test_object_arrays_and_other_dtypes_are_refused(saved, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, _, blob, _ = saved
    arrays = members(blob)
    for bad in (np.array([{"x": 1}, None], dtype=object), np.array(["text"]), np.zeros(2, np.complex64),
                np.zeros(2, dtype=">f4")):
        path = tmp_path / "obj.npz"
        np.savez(path, **{**arrays, "a0": bad})  # the first array replaced (np.savez pickles an object array)
        with pytest.raises(ValueError, match="dtype .* is not allowed"):
            fixedq.load(path)


def test_declared_sizes_are_checked_before_reading(saved, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, _, blob, _ = saved
    # An .npy header that declares 10**12 floats over 16 bytes of data.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("a9999.npy", header.getvalue() + bytes(16))
    start = time.perf_counter()
    with pytest.raises(ValueError, match="declares"):
        fixedq.load(path)
    # A deflate bomb: 64 MiB of zeros in a few KiB, refused from the archive's directory.
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        dst.writestr("a9999.npy", bytes(64 << 20))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ValueError, match="max_bytes"):
        fixedq.load(bomb, max_bytes=32 << 20)
    assert time.perf_counter() - start < 5.0


def test_not_a_model_file(tmp_path) -> None:
    path = tmp_path / "x.npz"
    path.write_bytes(RNG.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match="not a fixedq model file"):
        fixedq.load(path)
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ValueError, match="not a fixedq model file"):
        fixedq.load(path)
    np.savez(path, meta=np.frombuffer(b"{not json", np.uint8))
    with pytest.raises(ValueError, match="not valid JSON"):
        fixedq.load(path)
    with pytest.raises(FileNotFoundError):
        fixedq.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="max_bytes"):
        fixedq.load(path, max_bytes=0)


def test_save_arguments_are_checked(saved, tmp_path) -> None:  # type: ignore[no-untyped-def]
    q, _, _, _ = saved
    with pytest.raises(TypeError, match="include_float"):
        q.save(tmp_path / "m.npz", include_float="yes")
    assert fixedq.load is nn.load


def test_docstring_examples() -> None:
    import doctest

    from fixedq.nn import _saving

    result = doctest.testmod(_saving, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_int8_files_need_int8_weights(embedded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:50], fixedq.QuantConfig("affine"))
    q.save(tmp_path / "int8.npz")
    blob = (tmp_path / "int8.npz").read_bytes()

    def wide_codes(meta, arrays):  # type: ignore[no-untyped-def]
        key = meta["qweights"]["conv1"]["codes"]
        arrays[key] = arrays[key].astype(np.int16)

    def zero_point_out_of_range(meta, arrays):  # type: ignore[no-untyped-def]
        key = meta["qweights"]["fc1"]["params"]["zero_point"]["array"]
        arrays[key] = np.full_like(arrays[key], 300, dtype=np.int64)

    for edit, message in ((wide_codes, "int8 codes"), (zero_point_out_of_range, "zero_point")):
        with pytest.raises(ValueError, match=message):
            fixedq.load(rewrite(blob, tmp_path / "bad.npz", edit))


KMEANS_CLI = ["--scheme", "kmeans", "--weight-bits", "4", "--activation-bits", "float"]


@pytest.mark.parametrize("options", [[], KMEANS_CLI])
def test_command_line_quantize_then_eval_reads_the_saved_file(tmp_path, capsys,  # type: ignore[no-untyped-def]
                                                              options) -> None:
    """``fixedq quantize ... -o OUT`` writes with save(); ``fixedq eval OUT`` reads it with load()."""
    import os

    from fixedq import __main__ as cli

    model_path = nn.embedded_model_path()
    data_path = os.path.join(os.path.dirname(model_path), "digits_test.npz")
    out = str(tmp_path / "q.fxq")
    assert cli.main(["quantize", model_path, "--calibration", data_path, "-o", out, "--no-progress", "--json",
                     *options]) == 0, capsys.readouterr().err
    written = json.loads(capsys.readouterr().out)
    assert cli.main(["eval", out, "--data", data_path, "--limit", "300", "--no-progress", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    loaded = fixedq.load(out)
    data = nn.embedded_data()
    direct = 100.0 * float((loaded(data["x"][:300]).argmax(1) == data["y"][:300]).mean())
    assert evaluated["mode"] == written["mode"] == loaded.mode == ("simulated" if options else "int8")
    assert evaluated["accuracy"] == direct > 90.0


def test_loaded_model_reports_like_the_original(embedded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """report() compares against the float model: a file with the float weights gives the same report."""
    model, data = embedded
    q = fixedq.quantize(model, data["calibration"][:100], fixedq.QuantConfig("affine"))
    q.save(tmp_path / "r.npz")
    x, y = data["x"][:200], data["y"][:200]
    expected = q.report(x, y, sensitivity=False).to_dict()
    assert fixedq.load(tmp_path / "r.npz").report(x, y, sensitivity=False).to_dict() == expected
