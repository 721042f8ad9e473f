"""The one progress-bar factory, so that training, few-shot embedding, mining and extraction jobs look alike.

Bars go to stderr: stdout carries results (``relenc extract`` and ``relenc mine-pairs`` print JSON statistics
there), and a bar mixed into it would break a pipe into ``jq``.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

#: The columns of a training loop (fine-tuning, the head alone, pre-training): add its task with ``loss=0.0,
#: rate=0.0`` and update both as it goes. The rate is examples per second, comparable across batch sizes.
TRAINING_FIELDS = ("loss {task.fields[loss]:.4f}", "{task.fields[rate]:.1f} ex/s")


def progress_bar(
    *,
    enabled: bool = True,
    total_known: bool = True,
    fields: Sequence[str] = (),
    transient: bool = False,
) -> Progress:
    """A :class:`rich.progress.Progress` on stderr; use it as a context manager and add tasks with a description.

    With ``total_known`` the columns are: description, bar, ``done/total``, then one text column per entry of
    ``fields``, then the time remaining. Without it (a stream of unknown length, e.g. documents read from a file):
    a spinner, the description (update it to report counts) and the time elapsed, since there is nothing to draw a
    bar or an estimate from.

    ``fields`` are rich text templates reading the task's own fields, e.g. ``"loss {task.fields[loss]:.4f}"``; every
    task must then be added with those fields (``add_task(..., loss=0.0)``). ``enabled=False`` draws nothing (a
    quiet run, or a process other than the main one). ``transient`` removes the bar when the block ends, for jobs
    that print their own summary afterwards.
    """
    columns: list[ProgressColumn] = []
    if total_known:
        columns += [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn()]
        columns += [TextColumn(template) for template in fields]
        columns.append(TimeRemainingColumn())
    else:
        columns += [SpinnerColumn(), TextColumn("{task.description}")]
        columns += [TextColumn(template) for template in fields]
        columns.append(TimeElapsedColumn())
    console = Console(stderr=True)
    # a transient bar off a terminal draws nothing useful and leaves a blank line before what follows (an error)
    disable = not enabled or (transient and not console.is_terminal)
    return Progress(*columns, console=console, disable=disable, transient=transient)
