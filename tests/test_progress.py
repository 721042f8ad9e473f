"""The one progress-bar factory: the columns each job needs, on stderr, and nothing drawn when disabled."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TimeElapsedColumn, TimeRemainingColumn

from relenc.progress import TRAINING_FIELDS, progress_bar


def rendered(bar: Progress) -> str:
    """The bar's current line, as a terminal 120 columns wide would show it."""
    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(bar.make_tasks_table(bar.tasks))
    return out.getvalue()


def test_known_total_with_fields_as_the_trainer_uses_it() -> None:
    bar = progress_bar(enabled=False, fields=TRAINING_FIELDS)
    task = bar.add_task("training", total=200, completed=30, loss=0.12345, rate=87.25)
    kinds = [type(column) for column in bar.columns]
    assert kinds[1:3] == [BarColumn, MofNCompleteColumn] and kinds[-1] is TimeRemainingColumn
    line = rendered(bar)
    assert "training" in line and "30/200" in line and "loss 0.1235" in line and "87.2 ex/s" in line
    bar.update(task, advance=10, loss=0.5, rate=90.0)
    assert "40/200" in rendered(bar) and "loss 0.5000" in rendered(bar)


def test_known_total_without_fields_as_few_shot_uses_it() -> None:
    bar = progress_bar(enabled=False)
    bar.add_task("embedding (main, prompt)", total=64, completed=16)
    assert len(bar.columns) == 4
    line = rendered(bar)
    assert "embedding (main, prompt)" in line and "16/64" in line


def test_unknown_total_is_a_spinner_with_a_changing_description() -> None:
    bar = progress_bar(enabled=False, total_known=False, transient=True)
    task = bar.add_task("extracting", total=None)
    kinds = [type(column) for column in bar.columns]
    assert kinds[0] is SpinnerColumn and BarColumn not in kinds and kinds[-1] is TimeElapsedColumn
    bar.update(task, description="extracting: 12 documents, 3 relations")
    assert "extracting: 12 documents, 3 relations" in rendered(bar)
    assert bar.live.transient


def test_bars_go_to_stderr_and_disabled_bars_draw_nothing() -> None:
    bar = progress_bar()
    assert bar.console.stderr and not bar.disable and not bar.live.transient
    assert progress_bar(enabled=False).disable
