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
