"""The subcommands of the ``fixedq`` command (``python -m fixedq``); they use only the public API.

The entry point itself is :func:`fixedq.__main__.main`.
"""

from __future__ import annotations

from ._demo import DEMO_ROWS, compare_table, format_table

__all__ = ["DEMO_ROWS", "compare_table", "format_table"]
