"""The one error type for problems a user can fix: bad data, bad configuration, a missing model.

The CLI catches :class:`RelencError` once, at its edge, and prints ``error: <message>`` without a traceback.
Anything else is a programming error and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


class RelencError(Exception):
    """A problem with the user's input or configuration, explained in the message."""


class DataError(RelencError, ValueError):
    """Bad input data. The message names the file, the line or record, and the problem.

    ``source`` is the file (or ``None`` for in-memory data), ``location`` says where in it
    (``"line 12"``, ``"record 3 (id 'abc')"``), ``problem`` what is wrong.
    """

    def __init__(self, problem: str, source: str | Path | None = None, location: str | None = None) -> None:
        self.problem = problem
        self.source = str(source) if source is not None else None
        self.location = location
        where = ", ".join(part for part in (self.source, self.location) if part)
        super().__init__(f"{where}: {problem}" if where else problem)

    def located(self, source: str | Path | None, location: str | None) -> DataError:
        """The same problem with a file and a place in it, for readers that validate records one by one."""
        return DataError(
            self.problem,
            source if source is not None else self.source,
            location if location is not None else self.location,
        )
