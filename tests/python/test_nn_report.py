"""QuantizedModel.report() and fixedq.nn.search_bitwidths on the embedded model and hand-made models.

Oracles: accuracies and output SQNR recomputed directly from the models' outputs; per-layer SQNR
from ``Model.run`` intermediates against a truncated model quantized on its own (no report
machinery); saturation counted by hand on constructed inputs; the search's config re-applied
with ``fixedq.quantize``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fixedq
from fixedq import nn

pytest.importorskip("onnx")

N, NCAL = 150, 60
NS = 100  # search_bitwidths: accuracy in steps of 1 point


@pytest.fixture(scope="module")
def embedded():  # type: ignore[no-untyped-def]
    d = nn.embedded_data()
    return nn.load_embedded(), d["x"][:N], d["y"][:N], d["calibration"][:NCAL]


def direct_sqnr(ref: np.ndarray, out: np.ndarray) -> float:
    r, e = ref.astype(np.float64), ref.astype(np.float64) - out.astype(np.float64)
    return 10 * math.log10(float(np.sum(r * r)) / float(np.sum(e * e)))


def truncated(model: nn.Model, tensor: str) -> nn.Model:
    """The nodes of ``model`` up to the one producing ``tensor``, with ``tensor`` as the output."""
    end = next(i for i, n in enumerate(model.nodes) if tensor in n.outputs)
    nodes = model.nodes[:end + 1]
    used = {t for n in nodes for t in n.inputs}
    return nn.Model(nodes, {k: v for k, v in model.params.items() if k in used}, model.inputs, [tensor],
                    model.input_shapes, name=model.name)


CONFIGS = [fixedq.QuantConfig(), fixedq.QuantConfig("dynamic_fixed_point", weight_bits=6, activation_bits=6)]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["int8", "simulated"])
def test_report_numbers_equal_direct_computations(embedded, cfg) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    q = fixedq.quantize(model, cal, cfg)
    r = q.report(x, y, batch_size=N, sensitivity=False)
    fo, qo = model(x), q(x)
    assert r.mode == q.mode and r.samples == N
    assert r.accuracy == float(np.mean(qo.argmax(1) == y))
    assert r.float_accuracy == float(np.mean(fo.argmax(1) == y))
    assert r.loss_points == pytest.approx(100 * (r.float_accuracy - r.accuracy))
    assert r.output_sqnr_db == pytest.approx(direct_sqnr(fo, qo), rel=1e-9)
    cos = np.sum(fo * qo, 1) / (np.linalg.norm(fo, axis=1) * np.linalg.norm(qo, axis=1))
    assert r.output_cosine == pytest.approx(float(np.mean(cos)), rel=1e-6)
    assert r.sensitivity == [] and r.most_sensitive is None
    for row, info in zip(r.layers, q.layers):
        assert (row.name, row.scheme, row.weight_bits) == (info.name, info.scheme, info.weight_bits)
        assert row.weight_bytes == info.storage_bits / 8
        node = next(n for n in model.nodes if n.name == row.name)
        assert row.float_weight_bytes == 4 * sum(model.params[t].size for t in node.inputs[1:])
        w = model.params[node.inputs[1]]  # Conv (M, C, kh, kw) and Gemm transB (M, K): output channels first
        if cfg.scheme == "symmetric":
            wq = fixedq.quant.quantize(w, "symmetric", bits=8, axis=0).dequantize()
        else:
            wq = fixedq.quant.quantize(w, "dynamic_fixed_point", bits=cfg.weight_bits).dequantize()
        assert row.weight_sqnr_db == pytest.approx(direct_sqnr(w, wq), rel=1e-9)
        assert row.weight_bytes < row.float_weight_bytes
        assert w.size * cfg.weight_bits / 8 <= row.weight_bytes


@pytest.mark.parametrize("cfg", CONFIGS, ids=["int8", "simulated"])
def test_layer_sqnr_equals_truncated_model_against_model_run(embedded, cfg) -> None:  # type: ignore[no-untyped-def]
    # Each layer's activation in the quantized model is the output of the model cut after that
    # layer (and its ReLU), quantized with the same config: an independent path to the number.
    model, x, y, cal = embedded
    r = fixedq.quantize(model, cal, cfg).report(x, batch_size=N, sensitivity=False)
    ends = {"conv1": "relu1", "conv2": "relu2", "fc1": "relu3", "fc2": "fc2"}
    for row in r.layers:
        tensor = next(n for n in model.nodes if n.name == ends[row.name]).outputs[0]
        ref = model.run({model.inputs[0]: x}, keep=[tensor])[tensor]
        cut = fixedq.quantize(truncated(model, tensor), cal, cfg)
        assert cut.mode == r.mode
        assert row.output_sqnr_db == pytest.approx(direct_sqnr(ref, cut(x)), rel=1e-6), row.name


@pytest.mark.parametrize("broken", ["conv2", "fc1"])
@pytest.mark.parametrize("with_labels", [True, False])
def test_sensitivity_finds_the_broken_layer(embedded, broken, with_labels) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    q = fixedq.quantize(model, cal, fixedq.QuantConfig(overrides={broken: {"weight_bits": 2}}))
    r = q.report(x, y if with_labels else None, calibration_data=cal)
    assert r.most_sensitive == broken
    assert [s.name for s in r.sensitivity] == ["conv1", "conv2", "fc1", "fc2"]
    assert r.sensitivity_calibration == "calibration_data"
    row = next(s for s in r.sensitivity if s.name == broken)
    # The one-layer model is the config with every other layer float: check it directly.
    only = fixedq.quantize(model, cal, fixedq.QuantConfig(overrides={
        **{n: "float" for n in ("conv1", "conv2", "fc1", "fc2") if n != broken}, broken: {"weight_bits": 2}}))
    out = only(x)
    assert row.output_sqnr_db == pytest.approx(direct_sqnr(model(x), out), rel=1e-6)
    if with_labels:
        assert row.accuracy == float(np.mean(out.argmax(1) == y))
        assert row.accuracy < min(s.accuracy for s in r.sensitivity if s.name != broken)  # type: ignore[type-var]
    else:
        assert row.accuracy is None
    assert f"most sensitive: {broken}" in str(r)


def test_layers_kept_in_float_are_reported_and_skipped_by_sensitivity(embedded) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    q = fixedq.quantize(model, cal, fixedq.QuantConfig(overrides={"fc2": "float"}))
    r = q.report(x, y, calibration_data=cal)
    fc2 = r.layers[-1]
    assert (fc2.scheme, fc2.weight_sqnr_db, fc2.saturated, fc2.clipped, fc2.activation_bits) == ("float", None, None,
                                                                                                 None, None)
    assert fc2.weight_bytes == fc2.float_weight_bytes
    assert [s.name for s in r.sensitivity] == ["conv1", "conv2", "fc1"]


def _saturation_case(cfg: fixedq.QuantConfig, relu: bool, x: np.ndarray) -> fixedq.nn.Report:
    layers = [nn.Linear(np.eye(4, dtype=np.float32))] + ([nn.ReLU()] if relu else [])
    model = nn.Sequential(*layers)
    cal = np.array([[-1.0, 1.0, 0.5, -0.25]], np.float32)  # calibrated range [-1, 1]
    return fixedq.quantize(model, cal, cfg).report(x, sensitivity=False)


SAT_X = np.array([[-3.0, -2.0, -0.5, 0.0], [0.3, 0.999, 1.5, 4.0]], np.float32)


def test_saturation_int8_symmetric_counts_codes_at_the_ends() -> None:
    # int8 symmetric, threshold 1: -3 and -2 land on code -128, 0.999 (rounded), 1.5 and 4 on 127;
    # of these only 0.999 was inside the range [-128/127, 1].
    r = _saturation_case(fixedq.QuantConfig(per_channel=False), False, SAT_X)
    assert r.mode == "int8" and (r.layers[0].saturated, r.layers[0].clipped) == (5 / 8, 4 / 8)


def test_saturation_ignores_a_relu_floor_at_zero() -> None:
    # uint8 affine after a fused ReLU: the output's zero point is code 0, where the negatives land
    # exactly (not clipped); 1.5 and 4 are at code 255, beyond [0, 1]. (0.999 reaches the layer
    # as input code 255 of the range [-1, 1] with zero point 128, i.e. 127 * 2/255 = 0.996: code 254.)
    r = _saturation_case(fixedq.QuantConfig("affine", per_channel=False), True, SAT_X)
    assert r.mode == "int8" and (r.layers[0].saturated, r.layers[0].clipped) == (2 / 8, 2 / 8)


def test_saturation_simulated_counts_the_clipped_input() -> None:
    # 8-bit dynamic fixed point for max |x| = 1: range [-1, 127/128]; 0.999 is beyond it too.
    r = _saturation_case(fixedq.QuantConfig("dynamic_fixed_point"), False, SAT_X)
    assert r.mode == "simulated" and (r.layers[0].saturated, r.layers[0].clipped) == (5 / 8, 5 / 8)
    inside = _saturation_case(fixedq.QuantConfig("dynamic_fixed_point"), False, SAT_X / 8)
    assert (inside.layers[0].saturated, inside.layers[0].clipped) == (0.0, 0.0)


def test_report_text_and_json(embedded) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    r = fixedq.quantize(model, cal).report(x[:50], y[:50], calibration_data=cal)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["accuracy"] == r.accuracy and d["most_sensitive"] == r.most_sensitive
    assert [row["name"] for row in d["layers"]] == ["conv1", "conv2", "fc1", "fc2"]
    text = str(r)
    table = text.split("\n\n")[1].splitlines()
    assert table[0].split() == ["layer", "op", "scheme", "W", "bits", "A", "bits", "weight", "SQNR", "output", "SQNR",
                                "saturated", "clipped", "weight", "bytes"]
    assert len({line.index("Conv") if "Conv" in line else line.index("Gemm") for line in table[1:]}) == 1
    assert "most sensitive" in text and repr(r).startswith("Report(model='digits_cnn'")
    # An exact model: infinite SQNR is spelled "inf" in JSON.
    # (8-bit dynamic fixed point for max |v| = 0.75 has 7 fraction bits: every value below is exact.)
    exact = nn.Sequential(nn.Linear(0.75 * np.eye(2, dtype=np.float32)))
    xs = np.array([[0.5, -0.75], [0.25, -0.125]], np.float32)
    e = fixedq.quantize(exact, xs, fixedq.QuantConfig("dynamic_fixed_point")).report(xs, sensitivity=False)
    assert e.output_sqnr_db == math.inf and e.to_dict()["output_sqnr_db"] == "inf"
    json.dumps(e.to_dict(), allow_nan=False)


def test_progress_bars_go_to_stderr(embedded, capsys) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("tqdm")
    model, x, y, cal = embedded
    r = fixedq.quantize(model, cal).report(x[:20], y[:20], calibration_data=cal[:20], batch_size=10, progress=True)
    err = capsys.readouterr().err
    assert "report" in err and "sensitivity" in err and len(r.sensitivity) == 4


def test_report_rejects_bad_data(embedded) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    q = fixedq.quantize(model, cal)
    with pytest.raises(ValueError, match=f"labels has {N - 1} entries but data has {N}"):
        q.report(x, y[:-1])
    with pytest.raises(ValueError, match="data is empty"):
        q.report(x[:0])
    with pytest.raises(TypeError, match="data must be a numeric NumPy array"):
        q.report(list(x))
    with pytest.raises(ValueError, match="labels must be a 1-D array of integer"):
        q.report(x, y.astype(np.float64))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        q.report(x, batch_size=0)
    with pytest.raises(ValueError, match="must have shape"):
        q.report(x[:, :, :20])


# ---------------------------------------------------------------------------------------------
# search_bitwidths
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def searches(embedded):  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    return {m: nn.search_bitwidths(model, x[:NS], y[:NS], calibration_data=cal[:30], margin=m, widths=(8, 4, 2))
            for m in (0.03, 0.01)}


def test_search_reproduces_its_accuracy_within_the_margin(embedded, searches) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    x, y = x[:NS], y[:NS]
    for margin, r in searches.items():
        q = fixedq.quantize(model, cal[:30], r.config)
        assert float(np.mean(q(x).argmax(1) == y)) == r.accuracy
        assert r.float_accuracy == float(np.mean(model(x).argmax(1) == y))
        assert r.float_accuracy - r.accuracy <= margin + 1e-12
        assert q.mode == r.mode and q.size_bytes == r.size_bytes
        assert [layer.weight_bits for layer in q.layers] == [r.weight_bits[n] or 32 for n in r.weight_bits]
        assert r.trials[-1].stage == "combined" and r.trials[-1].passed
        # Each layer's chosen width passed alone, and the next narrower one (if tried) failed.
        for t in r.trials:
            assert t.passed == (t.accuracy >= r.float_accuracy - margin - 1e-12)
        json.dumps(r.to_dict(), allow_nan=False)
    assert str(searches[0.03]).splitlines()[1].split() == ["layer", "W", "bits", "A", "bits"]


def test_search_narrows_below_8_bits_with_a_loose_margin(searches) -> None:  # type: ignore[no-untyped-def]
    r = searches[0.03]
    assert r.size_bytes < r.float_size_bytes / 6
    assert any(w is not None and w < 8 for w in r.weight_bits.values())


def test_tighter_margin_never_chooses_narrower_widths(searches) -> None:  # type: ignore[no-untyped-def]
    loose, tight = searches[0.03], searches[0.01]
    def width(v):  # type: ignore[no-untyped-def]
        return math.inf if v is None else v
    for name in loose.weight_bits:
        assert width(tight.weight_bits[name]) >= width(loose.weight_bits[name])
        assert width(tight.activation_bits[name]) >= width(loose.activation_bits[name])


def test_search_on_int8_widths_runs_on_the_int8_kernels(embedded) -> None:  # type: ignore[no-untyped-def]
    # Symmetric, 16 or 8 bits: every layer passes at 8 and the chosen model is the int8 one,
    # measured on the int8 kernels (the 16-bit trials were simulated).
    model, x, y, cal = embedded
    r = nn.search_bitwidths(model, x[:100], y[:100], calibration_data=cal[:50], widths=(16, 8), scheme="symmetric",
                            margin=0.02)
    assert r.mode == "int8" and set(r.weight_bits.values()) == {8} and set(r.activation_bits.values()) == {8}
    q = fixedq.quantize(model, cal[:50], fixedq.QuantConfig())
    assert r.accuracy == float(np.mean(q(x[:100]).argmax(1) == y[:100]))


def test_search_skips_widths_the_scheme_cannot_represent(embedded) -> None:  # type: ignore[no-untyped-def]
    # Minifloat (4 exponent bits) needs 5 bits or more; power-of-two weights at most 8.
    model, x, y, cal = embedded
    r = nn.search_bitwidths(model, x[:50], y[:50], calibration_data=cal[:20], widths=(16, 8, 4), scheme="power_of_two",
                            margin=0.5)
    assert [t.bits for t in r.trials if t.stage == "weights" and t.layer == "conv1"] == [8, 4]
    assert [t.bits for t in r.trials if t.stage == "activations" and t.layer == "conv1"] == [16, 8, 4]
    with pytest.raises(ValueError, match="scheme 'minifloat' represents none of the widths \\(4, 2\\) for weights"):
        nn.search_bitwidths(model, x[:10], y[:10], widths=(4, 2), scheme="minifloat")


@pytest.mark.parametrize("kwargs,error,match", [
    ({"margin": -0.01}, ValueError, "margin must be an accuracy fraction in \\[0, 1\\)"),
    ({"margin": 1.0}, ValueError, "margin must be an accuracy fraction"),
    ({"margin": True}, TypeError, "margin must be a number"),
    ({"margin": "0.01"}, TypeError, "margin must be a number"),
    ({"widths": ()}, ValueError, "widths must be a non-empty sequence of ints in 1..32"),
    ({"widths": (8, 8)}, ValueError, "widths must be distinct"),
    ({"widths": (8, 0)}, ValueError, "widths must be a non-empty sequence"),
    ({"widths": 8}, TypeError, "widths must be a sequence of ints"),
    ({"scheme": "binary"}, ValueError, "scheme must be one of"),
])
def test_search_rejects_bad_options(embedded, kwargs, error, match) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    with pytest.raises(error, match=match):
        nn.search_bitwidths(model, x[:10], y[:10], calibration_data=cal[:10], **kwargs)


def test_search_rejects_bad_data(embedded) -> None:  # type: ignore[no-untyped-def]
    model, x, y, cal = embedded
    with pytest.raises(ValueError, match="labels has 9 entries but data has 10"):
        nn.search_bitwidths(model, x[:10], y[:9])
    with pytest.raises(ValueError, match="data is empty"):
        nn.search_bitwidths(model, x[:0], y[:0])
    with pytest.raises(ValueError, match="labels are required"):
        nn.search_bitwidths(model, x[:10], None)
    with pytest.raises(ValueError, match="calibration_data is empty"):
        nn.search_bitwidths(model, x[:10], y[:10], calibration_data=cal[:0])
    with pytest.raises(ValueError, match="must have shape"):
        nn.search_bitwidths(model, x[:10], y[:10], calibration_data=cal[:5, :, :20])
    with pytest.raises(TypeError, match="model must be a fixedq.nn.Model"):
        nn.search_bitwidths(fixedq.quantize(model, cal), x[:10], y[:10])


def test_docstring_example() -> None:
    import doctest

    from fixedq.nn import _search

    result = doctest.testmod(_search, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
