"""Command line entry point: ``python -m fixedq`` or ``fixedq``.

``fixedq formats`` (also ``fixedq`` with no command) prints a short report: the version, how the
C++ core was built, and the named formats with their ranges and resolutions as computed by the
C++ core. ``--include`` and ``--cmake-dir`` print the directories a C++ build needs.
The network commands (``demo``, ``quantize``, ``eval``, ``compare``, ``inspect``, ``bench``) are in
:mod:`fixedq.cli`; every command takes ``--json`` for machine-readable output, and user errors
print one line ``fixedq CMD: error: ...`` with exit status 2 (bad options) or 1 (bad files/data).
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
    from fixedq.cli import add_commands

    add_commands(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # everything after `bench` belongs to the kernel comparison's own parser
        from fixedq.cli._commands import cmd_bench

        args = argparse.Namespace(command="bench", func=cmd_bench, bench_args=argv[1:])
    else:
        args = parser.parse_args(argv)

    prog = f"fixedq {args.command}" if args.command else "fixedq"
    try:
        if getattr(args, "func", None) is not None:
            return int(args.func(args))
        if args.include:
            print(fixedq.get_include())
        elif args.cmake_dir:
            print(fixedq.get_cmake_dir())
        else:
            print(report())
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (e.g. `python -m fixedq | head`): stop quietly, and point stdout
        # at devnull so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - user errors become one line and an exit status
        from fixedq.cli import CommandError

        if not isinstance(exc, (CommandError, FileNotFoundError, ValueError, TypeError, NotImplementedError,
                                ImportError, OverflowError)):
            raise
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, CommandError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
