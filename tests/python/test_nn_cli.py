"""The ``fixedq`` command's network subcommands (demo) and the formats report under its new name."""

from __future__ import annotations

import json

import pytest

from fixedq import __main__ as cli

pytest.importorskip("onnx")


def test_demo_json_rows(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["demo", "--json", "--rows", "1,7", "--limit", "200", "--no-progress", "--no-peers"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["test_images"] == 200 and out["calibration_images"] == 500
    rows = out["rows"]
    assert [r["method"] for r in rows] == ["float32", "8-bit min/max affine (TensorFlow)",
                                           "int8 symmetric, minmax, per-channel"]
    assert rows[0]["mode"] == "float" and rows[0]["loss"] == 0.0
    for r in rows[1:]:
        assert r["mode"] == "int8" and r["weight_bits"] == 8 and abs(r["loss"]) <= 1.0
        assert 3.5 < r["compression"] < 4.1 and r["speedup"] > 0


def test_demo_table_text(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["demo", "--rows", "23", "--limit", "100", "--no-progress", "--no-peers"]) == 0
    out = capsys.readouterr().out
    assert "embedded digit CNN" in out and "k-means 4-bit weights" in out and "speed vs float" in out


@pytest.mark.parametrize("argv", [["demo", "--rows", "99"], ["demo", "--rows", "x"], ["demo", "--limit", "0"]])
def test_demo_bad_options(argv, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fixedq demo: error:") and err.count("\n") == 1


def test_formats_command_is_the_default_report(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["formats"]) == 0
    named = capsys.readouterr().out
    assert cli.main([]) == 0
    assert capsys.readouterr().out == named and "Named formats" in named


# ---------------------------------------------------------------------------------------------
# compare / eval / inspect on files, data formats, errors
# ---------------------------------------------------------------------------------------------
import os  # noqa: E402

import numpy as np  # noqa: E402

import fixedq  # noqa: E402

MODEL = fixedq.nn.embedded_model_path()
DATA = os.path.join(os.path.dirname(MODEL), "digits_test.npz")


def _json(capsys, argv):  # type: ignore[no-untyped-def]
    assert cli.main(argv + ["--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_eval_onnx_accuracy_is_the_direct_one(capsys) -> None:  # type: ignore[no-untyped-def]
    out = _json(capsys, ["eval", MODEL, "--data", DATA, "--limit", "300", "--no-progress"])
    data = fixedq.nn.embedded_data()
    model = fixedq.nn.load_embedded()
    direct = 100.0 * float((model(data["x"][:300]).argmax(1) == data["y"][:300]).mean())
    assert out["inputs"] == 300 and out["mode"] == "float"
    assert out["accuracy"] == direct and out["inputs_per_second"] > 0


def test_eval_image_folder_equals_npz(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    PIL = pytest.importorskip("PIL.Image")
    with np.load(DATA) as f:
        images, labels = f["images"][:40], f["labels"][:40]
    for i, (img, lab) in enumerate(zip(images, labels)):
        d = tmp_path / "imgs" / str(int(lab))
        d.mkdir(parents=True, exist_ok=True)
        PIL.fromarray(img[0]).save(d / f"{i:03d}.png")
    folder = _json(capsys, ["eval", MODEL, "--data", str(tmp_path / "imgs"), "--no-progress"])
    model = fixedq.nn.load_embedded()
    order = sorted(range(40), key=lambda i: (int(labels[i]), i))  # class folders, then file names
    x = images[order].astype(np.float32) / np.float32(255)
    direct = 100.0 * float((model(x).argmax(1) == labels[order]).mean())
    assert folder["inputs"] == 40 and folder["accuracy"] == direct


def test_compare_any_model_with_peers(capsys) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("onnxruntime")
    out = _json(capsys, ["compare", MODEL, "--calibration", DATA, "--data", DATA, "--rows", "7", "--limit", "200",
                         "--no-progress"])
    methods = [r["method"] for r in out["rows"]]
    assert methods[:2] == ["float32", "int8 symmetric, minmax, per-channel"]
    ort = [r for r in out["rows"] if r["mode"] == "onnxruntime"]
    assert [r["weight_bits"] for r in ort] == [32, 8]
    # the same model run by onnxruntime in float agrees with fixedq's float model on the labels
    assert abs(ort[0]["accuracy"] - out["rows"][0]["accuracy"]) <= 0.5
    assert abs(ort[1]["loss"]) <= 1.0 and ort[1]["speedup"] > 0 and out["calibration_images"] == 500


def test_demo_deep_compression_row_and_plots(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    last = str(len(cli_rows()) - 1)
    out = _json(capsys, ["demo", "--rows", f"18,{last}", "--limit", "200", "--no-progress", "--no-peers",
                         "--plot", str(tmp_path / "plots")])
    dc = out["rows"][-1]
    assert dc["method"].startswith("Deep Compression") and dc["weight_bits"] == "8/5"
    assert dc["compression"] >= 10 and dc["activation_bits"] is None
    names = sorted(os.path.basename(p) for p in out["plots"])
    assert "accuracy_vs_bits.png" in names and "conv1_input.png" in names and "fc2_weights.png" in names
    for p in out["plots"]:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def cli_rows():  # type: ignore[no-untyped-def]
    from fixedq.cli import DEMO_ROWS

    return DEMO_ROWS


def test_inspect_reports_ranges(capsys) -> None:  # type: ignore[no-untyped-def]
    out = _json(capsys, ["inspect", MODEL, "--calibration", DATA])
    model = fixedq.nn.load_embedded()
    cal = fixedq.nn.embedded_data()["calibration"]
    env = model.run({model.inputs[0]: cal}, keep="all")
    by_name = {d["name"]: d for d in out["layers"]}
    assert list(by_name) == [n.name for n in model.weighted_nodes()]
    for n in model.weighted_nodes():
        d, w = by_name[n.name], model.params[n.inputs[1]]
        assert d["weight_shape"] == list(w.shape) and d["weight_min"] == float(w.min())
        assert d["input_max"] == float(env[n.inputs[0]].max())
    assert cli.main(["inspect", MODEL]) == 0
    text = capsys.readouterr().out
    assert "conv2" in text and "16x8x3x3" in text


@pytest.mark.parametrize("argv,status,message", [
    (["eval", "missing.onnx", "--data", DATA], 1, "no such model file"),
    (["eval", MODEL, "--data", "missing.npz"], 1, "no such data file"),
    (["eval", MODEL, "--data", DATA, "--limit", "0"], 2, "--limit must be >= 1"),
    (["compare", MODEL, "--calibration", DATA, "--data", DATA, "--rows", "99"], 2, "--rows takes indices"),
    (["quantize", MODEL, "--calibration", DATA, "-o", "x", "--activation-bits", "seven"], 2, "--activation-bits"),
    (["quantize", MODEL, "--calibration", DATA, "-o", "x", "--calibrator-option", "percentile"], 2, "KEY=VALUE"),
    (["quantize", MODEL, "--calibration", DATA, "-o", "x", "--scheme", "magic"], 2, "scheme must be one of"),
])
def test_command_errors_are_one_line(argv, status, message, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(argv) == status
    err = capsys.readouterr().err
    assert err.startswith(f"fixedq {argv[0]}: error:") and message in err and err.count("\n") == 1


def test_data_errors(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    np.savez(tmp_path / "wrong_shape.npz", x=np.zeros((3, 1, 20, 20), np.float32))
    np.savez(tmp_path / "no_inputs.npz", labels=np.zeros(3, np.int64))
    np.savez(tmp_path / "bad_labels.npz", x=np.zeros((3, 1, 28, 28), np.float32), y=np.zeros(4, np.int64))
    (tmp_path / "not_npz.npz").write_bytes(b"garbage")
    cases = [("wrong_shape.npz", "does not fit the model"), ("no_inputs.npz", "no inputs"),
             ("bad_labels.npz", "4 labels for 3 inputs"), ("not_npz.npz", "not a readable .npz")]
    for name, message in cases:
        assert cli.main(["eval", MODEL, "--data", str(tmp_path / name), "--no-progress"]) in (1, 2)
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_unsupported_operator_is_named(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Erf", ["x"], ["y"], name="the_erf")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    path = tmp_path / "erf.onnx"
    path.write_bytes(helper.make_model(g).SerializeToString())
    assert cli.main(["inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert "'Erf'" in err and "the_erf" in err and err.count("\n") == 1


def test_readme_fixedq_commands_run(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The README's ``<!-- readme-example: fixedq -->`` block, line by line, from a directory laid
    out like the repository (the shipped data under python/fixedq/data)."""
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- readme-example: fixedq -->", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("fixedq ") for ln in lines)
    (tmp_path / "python" / "fixedq").mkdir(parents=True)
    (tmp_path / "python" / "fixedq" / "data").symlink_to(os.path.dirname(MODEL))
    monkeypatch.chdir(tmp_path)
    for ln in lines:
        argv = shlex.split(ln)[1:] + ["--no-progress"] * (shlex.split(ln)[1] not in ("inspect",))
        assert cli.main(argv) == 0, (ln, capsys.readouterr().err)
    out = capsys.readouterr().out
    assert "accuracy" in out and (tmp_path / "plots" / "accuracy_vs_bits.png").exists()
