"""Command line entry point: ``python -m fixedq`` or ``fixedq``.

``fixedq formats`` (also ``fixedq`` with no command) prints a short report: the version, how the
C++ core was built, and the named formats with their ranges and resolutions as computed by the
C++ core. ``--include`` and ``--cmake-dir`` print the directories a C++ build needs.
``fixedq demo`` prints the comparison table of quantization methods on the embedded digit CNN
(``--json`` for machine-readable output).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

import fixedq


def _format_table(rows: list[list[str]]) -> list[str]:
    """Lay out rows as left-aligned columns separated by two spaces.

    Parameters
    ----------
    rows : list of list of str
        The header row first, then one row per entry; all rows have the same length.

    Returns
    -------
    list of str
        One line per row, without trailing spaces.
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def report() -> str:
    """Build the report printed by ``python -m fixedq``.

    Returns
    -------
    str
        Version, build information and the table of named formats, one item per line.
    """
    import numpy

    info = fixedq.build_info()
    lines = [
        f"fixedq {fixedq.__version__}",
        "",
        "C++ core build",
        f"  compiler      {info['compiler']}",
        f"  standard      {info['cxx_standard']} (__cplusplus {info['cplusplus']})",
        f"  build type    {info['build_type'] or '(none)'}",
        f"  flags         {info['cxx_flags'] or '(none)'}",
        f"  __int128      {'yes' if info['int128'] else 'no (portable 128-bit emulation)'}",
        f"  architecture  {info['architecture']}",
        f"  pybind11      {info['pybind11']}",
        f"  numpy         headers {info['numpy_headers']}, running {numpy.__version__}",
        "",
        "Named formats (fixedq::<name>; values computed by the C++ core, exact decimals)",
    ]
    rows = [["name", "I", "F", "bits", "raw", "min", "max", "resolution", "rounding", "overflow"]]
    for f in fixedq.formats():
        rows.append(
            [
                f["name"],
                str(f["integer_bits"]),
                str(f["fraction_bits"]),
                str(f["total_bits"]),
                f["raw_dtype"],
                f["min"],
                f["max"],
                f["resolution"],
                f["rounding"],
                f["overflow"],
            ]
        )
    lines += ["  " + line for line in _format_table(rows)]
    lines += ["", "I counts the sign bit; Qn = Fixed<1,n>. C++ headers: python -m fixedq --include"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fixedq`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Command line arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns
    -------
    int
        The process exit status (0 on success).
    """
    parser = argparse.ArgumentParser(
        prog="fixedq",
        description="fixedq: fixed-point numbers, int8 kernels and quantized networks. Without a command: "
                    "the formats report.",
    )
    parser.add_argument("--version", action="version", version=f"fixedq {fixedq.__version__}")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--include", action="store_true", help="print the C++ include directory and exit"
    )
    where.add_argument(
        "--cmake-dir",
        action="store_true",
        help="print the directory holding fixedqConfig.cmake (for -Dfixedq_DIR=...) and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("formats", help="version, build and named formats (the default)")
    demo = sub.add_parser("demo", help="compare quantization methods on the embedded digit CNN")
    demo.add_argument("--json", action="store_true", help="print the table as JSON")
    demo.add_argument("--limit", type=int, default=None, metavar="N", help="evaluate on the first N test images")
    demo.add_argument("--rows", default=None, metavar="I,J,...", help="only these rows (0 is float32)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    try:
        if args.command == "demo":
            return _demo(args)
        if args.include:
            print(fixedq.get_include())
        elif args.cmake_dir:
            print(fixedq.get_cmake_dir())
        else:
            print(report())
        sys.stdout.flush()
    except FileNotFoundError as exc:
        print(f"fixedq: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (e.g. `python -m fixedq | head`): stop quietly, and point stdout
        # at devnull so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    import json

    from fixedq.cli import DEMO_ROWS, compare_table, format_table

    rows = DEMO_ROWS
    if args.rows:
        try:
            idx = [int(i) for i in args.rows.split(",")]
            rows = [DEMO_ROWS[0]] + [DEMO_ROWS[i] for i in idx if i != 0]
        except (ValueError, IndexError):
            print(f"fixedq demo: error: --rows takes indices 0..{len(DEMO_ROWS) - 1}, got {args.rows!r}",
                  file=sys.stderr)
            return 2
    if args.limit is not None and args.limit < 1:
        print("fixedq demo: error: --limit must be >= 1", file=sys.stderr)
        return 2
    model = fixedq.nn.load_embedded()
    data = fixedq.nn.embedded_data()
    x, y = data["x"][:args.limit], data["y"][:args.limit]
    results = compare_table(model, data["calibration"], x, y, rows=rows, progress=not args.no_progress)
    if args.json:
        print(json.dumps({"model": fixedq.nn.embedded_model_path(), "test_images": len(x),
                          "calibration_images": len(data["calibration"]), "rows": results}, indent=2))
    else:
        print(f"fixedq demo: embedded digit CNN ({model.num_parameters()} parameters), {len(x)} test images, "
              f"{len(data['calibration'])} calibration images, {fixedq.ops.get_num_threads()} threads, "
              f"int8 kernels: {fixedq.ops.isa()}")
        print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
