"""The subcommands of the ``fixedq`` command (``python -m fixedq``); they use only the public API.

The entry point itself is :func:`fixedq.__main__.main`.
"""

from __future__ import annotations

from ._commands import CommandError, add_commands
from ._data import Dataset, load_data
from ._demo import DEMO_ROWS, compare_table, format_table

__all__ = ["DEMO_ROWS", "CommandError", "Dataset", "add_commands", "compare_table", "format_table", "load_data"]
