"""fixedq.quantize / QuantConfig / QuantizedModel on the embedded model and small Sequential models."""

from __future__ import annotations

import numpy as np
import pytest

import fixedq
from fixedq import nn
from fixedq.nn import _functional as F

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def embedded():  # type: ignore[no-untyped-def]
    model = nn.load_embedded()
    data = nn.embedded_data()
    return model, data, float((model(data["x"]).argmax(1) == data["y"]).mean())


def accuracy(q, data) -> float:  # type: ignore[no-untyped-def]
    return float((q(data["x"]).argmax(1) == data["y"]).mean())


ORT_ENTROPY = {"variant": "onnxruntime", "num_bins": 2048, "num_quantized_bins": 128}


@pytest.mark.parametrize("calibrator,options", [("minmax", {}), ("percentile", {}), ("mse", {}),
                                                ("entropy", ORT_ENTROPY)])
def test_int8_per_channel_meets_the_issue_target(embedded, calibrator, options) -> None:  # type: ignore[no-untyped-def]
    model, data, base = embedded
    q = fixedq.quantize(model, data["calibration"], fixedq.QuantConfig(calibrator=calibrator, calibrator_options=options))
    assert q.mode == "int8" and q.float_islands == []
    assert base - accuracy(q, data) <= 0.003 + 1e-12
    assert q.size_bytes < q.float_size_bytes / 3.5


def test_tensorrt_entropy_misses_the_target_on_this_model(embedded) -> None:  # type: ignore[no-untyped-def]
    # Measured, not wished: 44% of conv1's outputs are one value (the background), and the
    # TensorRT KL search keeps that spike, choosing a threshold of 0.35 for a maximum of 5.6.
    model, data, base = embedded
    q = fixedq.quantize(model, data["calibration"], fixedq.QuantConfig(calibrator="entropy"))
    assert base - accuracy(q, data) > 0.3


def test_int8_affine_per_tensor_runs_in_integers(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data, base = embedded
    q = fixedq.quantize(model, data["calibration"], fixedq.QuantConfig("affine", per_channel=False))
    assert "mode='int8'" in repr(q)
    assert base - accuracy(q, data) <= 0.005
    y1, y2 = q(data["x"][:7]), q(data["x"][:7])
    np.testing.assert_array_equal(y1, y2)


def test_int8_agrees_with_simulated_symmetric(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data, _ = embedded
    cfg = fixedq.QuantConfig()
    q = fixedq.quantize(model, data["calibration"], cfg)
    # 7-bit activations force the simulated path with otherwise the same scheme.
    sim = fixedq.quantize(model, data["calibration"], fixedq.QuantConfig(activation_bits=7))
    assert sim.mode == "simulated"
    agree = (q(data["x"]).argmax(1) == sim(data["x"]).argmax(1)).mean()
    assert agree >= 0.98


def test_float_override_is_a_float_island(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data, base = embedded
    q = fixedq.quantize(model, data["calibration"], fixedq.QuantConfig(overrides={"fc2": "float"}))
    assert q.mode == "int8" and q.float_islands == ["fc2"]
    assert [layer.scheme for layer in q.layers] == ["symmetric"] * 3 + ["float"]
    assert base - accuracy(q, data) <= 0.005
    q4 = fixedq.quantize(model, data["calibration"], fixedq.QuantConfig(overrides={"fc1": {"weight_bits": 4}}))
    assert q4.mode == "simulated" and q4.layers[2].weight_bits == 4


@pytest.mark.parametrize("cfg,max_loss", [
    (fixedq.QuantConfig("dynamic_fixed_point", weight_bits=16, activation_bits=16), 0.002),
    (fixedq.QuantConfig("dynamic_fixed_point"), 0.005),
    (fixedq.QuantConfig("minifloat"), 0.005),
    (fixedq.QuantConfig("power_of_two", weight_bits=4), 0.05),  # measured 4 points: no fine-tuning
    (fixedq.QuantConfig("kmeans", weight_bits=5, activation_bits=None), 0.005),
    (fixedq.QuantConfig("ternary", activation_bits=None), 0.16),  # measured 13.9 points: TWN needs training
])
def test_simulated_schemes(embedded, cfg, max_loss) -> None:  # type: ignore[no-untyped-def]
    model, data, base = embedded
    q = fixedq.quantize(model, data["calibration"][:200], cfg)
    assert q.mode == "simulated"
    assert base - accuracy(q, data) <= max_loss


def test_integer_pooling_is_exact() -> None:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, size=(2, 3, 7, 6)).astype(np.uint8)
    zp = 11
    got = F.avg_pool2d(codes, (3, 3), strides=(2, 2), pads=(1, 1, 1, 1), zero_point=zp)
    real = F.avg_pool2d(codes.astype(np.float64) - zp, (3, 3), strides=(2, 2), pads=(1, 1, 1, 1))
    want = np.clip(np.rint(real) + zp, 0, 255)  # np.rint: half to even, as the integer path
    np.testing.assert_array_equal(got, want)
    assert F._round_div_half_even(np.array([5, 7, -5, 6]), np.array([2, 2, 2, 4])).tolist() == [2, 4, -2, 2]
    np.testing.assert_array_equal(F.max_pool2d(codes, (2, 2)), F.max_pool2d(codes.astype(np.float32), (2, 2)))


def test_int8_sequential_with_pooling_and_clip() -> None:
    rng = np.random.default_rng(3)
    model = nn.Sequential(nn.Conv2d(rng.normal(size=(6, 2, 3, 3)) * 0.3, rng.normal(size=6) * 0.1, padding=1),
                          nn.ReLU6(), nn.AvgPool2d(2), nn.Conv2d(rng.normal(size=(6, 1, 3, 3)), groups=6),
                          nn.ReLU(), nn.GlobalAvgPool(), nn.Flatten(), nn.Linear(rng.normal(size=(4, 6))),
                          nn.Softmax())
    x = rng.uniform(0, 2, size=(64, 2, 8, 8)).astype(np.float32)
    q = fixedq.quantize(model, x, fixedq.QuantConfig("affine"))
    assert q.mode == "int8" and q.float_islands == ["8.softmax"]
    np.testing.assert_allclose(q(x), model(x), atol=0.03)


@pytest.mark.parametrize("scheme", ["affine", "symmetric"])
def test_int8_fused_activation_is_the_ops_clamp(tmp_path, scheme) -> None:  # type: ignore[no-untyped-def]
    """A Relu/Clip after Conv/Gemm runs as the op's ``y_clamp`` (no NumPy pass over the output);
    a saved and loaded model builds the same ops."""
    from fixedq.nn._quantize import QLinearStep

    rng = np.random.default_rng(5)
    model = nn.Sequential(nn.Conv2d(rng.normal(size=(6, 2, 3, 3)) * 0.3, rng.normal(size=6) * 0.1, padding=1),
                          nn.ReLU6(), nn.Conv2d(rng.normal(size=(4, 6, 3, 3)) * 0.3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(rng.normal(size=(3, 144)) * 0.1), nn.ReLU())
    x = rng.uniform(-1, 2, size=(32, 2, 8, 8)).astype(np.float32)
    q = fixedq.quantize(model, x, fixedq.QuantConfig(scheme))
    steps = [s for s in q._steps if isinstance(s, QLinearStep)]
    assert len(steps) == 3 and all(s.act is not None for s in steps)
    assert steps[0].clamp_hi is not None  # ReLU6's top
    for s in steps:
        info = np.iinfo(np.asarray(s.yq.zero_point).dtype)
        lo = info.min if s.clamp_lo is None else int(s.clamp_lo)
        hi = info.max if s.clamp_hi is None else int(s.clamp_hi)
        want = None if s.clamp_lo is None and s.clamp_hi is None else (lo, hi)
        assert s.conv.y_clamp == want, (s.node.name, s.conv)
    path = tmp_path / "m.fxq"
    q.save(path)
    loaded = fixedq.load(path)
    assert [repr(s.conv) for s in loaded._steps if isinstance(s, QLinearStep)] == [repr(s.conv) for s in steps]
    assert np.array_equal(loaded(x), q(x))
    np.testing.assert_allclose(q(x), model(x), atol=0.1)


def test_config_errors(embedded) -> None:  # type: ignore[no-untyped-def]
    model, data, _ = embedded
    with pytest.raises(ValueError, match="scheme must be one of"):
        fixedq.QuantConfig("int4")
    with pytest.raises(ValueError, match="calibrator"):
        fixedq.QuantConfig(calibrator="kl")
    with pytest.raises(ValueError, match="weight_bits"):
        fixedq.QuantConfig(weight_bits=0)
    with pytest.raises(ValueError, match="unknown fields"):
        fixedq.QuantConfig(overrides={"fc1": {"bits": 4}})
    with pytest.raises(ValueError, match="name no layer"):
        fixedq.quantize(model, data["calibration"], fixedq.QuantConfig(overrides={"nope": "float"}))
    with pytest.raises(ValueError, match="empty"):
        fixedq.quantize(model, data["calibration"][:0])
    with pytest.raises(TypeError, match="fixedq.nn.Model"):
        fixedq.quantize("model.onnx", data["calibration"])  # type: ignore[arg-type]
    assert fixedq.QuantConfig("binary").weight_bits == 1
