"""Running a grid: train each run with the library, score it on its test set, write its record.

Every run goes through :func:`relenc.training.run.train_run` (what ``relenc train`` does) and
:func:`relenc.evaluation.evaluate.evaluate` (what ``relenc evaluate`` does), so a grid number is the number the
commands give. One failing run is recorded with its error and the grid goes on: a grid runs for hours unattended,
and one bad cell must not cost the others. Ctrl-C stops the grid; finished runs keep their records, and the
interrupted run resumes from its last checkpoint on the next invocation.

A run directory (``<runs dir>/<run id>``) is a ``relenc train`` run directory plus ``test_predictions.jsonl``
(``id``, ``gold``, ``pred``, ``score``; ``label`` repeats ``pred`` so ``relenc score`` reads the file as it is), so
that later analyses need no retraining. The optimiser checkpoint is deleted once a run has finished: it only serves
to resume, and is three times the size of the model.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from relenc.data.readers import read_dataset
from relenc.errors import RelencError
from relenc.evaluation.evaluate import evaluate
from relenc.evaluation.predictions import write_predictions
from relenc.experiments.grid import GridPlan, Run
from relenc.experiments.records import (
    RECORD_VERSION,
    RunRecord,
    git_info,
    machine_info,
    now,
    read_record,
    run_status,
    write_record,
)
from relenc.models.extractor import RelationExtractor, is_model_dir
from relenc.runtime import resolve_precision
from relenc.training.config import RunConfig
from relenc.training.run import RESULTS_NAME, train_run
from relenc.training.trainer import CHECKPOINT_DIR

PREDICTIONS_NAME = "test_predictions.jsonl"
RUN_CONFIG_NAME = "run_config.yaml"


@dataclass
class GridOutcome:
    """What one invocation did: runs skipped because done, runs that finished now, runs that failed (error)."""

    skipped: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def run_grid(
    plan: GridPlan,
    runs: list[Run],
    results_dir: Path,
    runs_dir: Path,
    *,
    progress: bool = True,
    console: Console | None = None,
) -> GridOutcome:
    """Train, test and record every run of ``runs`` (in order) that is not done yet.

    The data files of every pending run are checked before the first run starts, so that a typo in the grid file
    fails in a second rather than after hours of training the runs before it.
    """
    console = console or Console(stderr=True)
    outcome = GridOutcome()
    done = {run.id for run in runs if run_status(run, read_record(results_dir, run.id)) == "done"}
    outcome.skipped.extend(run.id for run in runs if run.id in done)
    pending = [run for run in runs if run.id not in done]
    missing = plan.missing_files(pending)
    if missing:
        raise RelencError(
            f"data files not found (data dir {plan.data_dir}; set it with --data-dir or $RELENC_DATA_DIR): "
            + ", ".join(str(p) for p in missing)
        )
    if not pending:
        return outcome
    where = {"git": git_info(), "machine": machine_info()}  # the same for every run of this invocation
    current = ""
    try:
        for number, run in enumerate(pending, start=1):
            current = run.id
            console.rule(f"[{number}/{len(pending)}] {run.id}")
            _run_one(plan, run, results_dir, runs_dir, where, outcome, progress, console)
    except KeyboardInterrupt:
        console.print(
            f"[yellow]interrupted during {escape(current)}[/yellow]: finished runs keep their records; run the same "
            "command again to go on (the interrupted run resumes from its last checkpoint)"
        )
        raise
    return outcome


def _run_one(
    plan: GridPlan,
    run: Run,
    results_dir: Path,
    runs_dir: Path,
    where: dict[str, Any],
    outcome: GridOutcome,
    progress: bool,
    console: Console,
) -> None:
    """Train, test and record one run; a failure becomes the run's record instead of stopping the grid, since a
    grid runs for hours unattended and one bad cell must not cost the others (Ctrl-C still stops it)."""
    started = time.perf_counter()
    body: dict[str, Any] = {}
    error: str | None = None
    trace: str | None = None
    try:
        body = _train_and_test(run, runs_dir, outcome.failed, progress)
    except Exception as exc:  # not silent: printed now, and the record keeps the error and its traceback
        error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, RelencError) else str(exc)
        trace = traceback.format_exc()
        outcome.failed[run.id] = error
        console.print(f"[red]failed[/red] {escape(run.id)}: {escape(error)}")
    record = _record(plan, run, body, round(time.perf_counter() - started, 2), where, error, trace)
    write_record(results_dir, record)
    if error is None:
        outcome.finished.append(run.id)
        dev = body["dev"].get("f1")  # a final fit (training.dev_fraction 0) has no dev score
        on_dev = f"dev {dev:.2f}" if dev is not None else "no dev"
        console.print(f"{escape(run.id)}: test {run.metric} F1 {body['test']['f1']:.2f} ({on_dev})")


def _record(
    plan: GridPlan,
    run: Run,
    body: dict[str, Any],
    wall_seconds: float,
    where: dict[str, Any],
    error: str | None,
    trace: str | None,
) -> RunRecord:
    """The run's record in its on-disk key order (``results.jsonl`` and old records share it); a failed run has
    no scores but its error, and the config it was planned with when it failed before resolving its own."""
    config = body.pop("config", None) or run.config.model_dump(mode="json")
    data = {
        "record_version": RECORD_VERSION,
        "grid": plan.name,
        "grid_file": plan.source,
        "id": run.id,
        "status": "failed" if error is not None else "ok",
        "config_hash": run.config_hash,
        "dataset": run.dataset.name,
        "encoder": run.encoder,
        "strategy": run.strategy,
        "model_strategy": run.config.model.strategy,
        "seed": run.seed,
        "tag": run.tag,
        "metric": run.metric,
        "depends_on": dict(run.deps),
        "listed": run.listed,
        **body,
        "wall_seconds": wall_seconds,
        "spec": run.spec,
        "config": config,
        **where,
        "date": now(),
        "error": error,
        "traceback": trace,
    }
    return RunRecord.from_dict(data)


def _train_and_test(run: Run, runs_dir: Path, failed: dict[str, str], progress: bool) -> dict[str, Any]:
    """Train (or reuse a finished training of the same config), score on the test set, save the predictions."""
    for role, dep in run.deps.items():
        what = "teacher" if role == "teacher" else f"{role} encoder"
        if dep in failed:
            raise RelencError(f"the {what} comes from run {dep}, which failed: {failed[dep]}")
        if not is_model_dir(runs_dir / dep / "model"):
            raise RelencError(
                f"the {what} comes from run {dep}, but {runs_dir / dep / 'model'} holds no model; "
                f"delete that run's record to train it again"
            )
    config = run.resolved_config(runs_dir)
    run_dir = runs_dir / run.id
    trained, how = _train(config, run_dir, progress)
    examples = read_dataset(run.test, run.dataset.format)
    if run.dataset.max_test_examples is not None:
        examples = examples[: run.dataset.max_test_examples]
    extractor = RelationExtractor.from_pretrained(run_dir)
    start = time.perf_counter()
    tc = config.training
    result = evaluate(extractor, examples, run.metric, tc.eval_batch_size, tc.precision, source=str(run.test))
    test_seconds = time.perf_counter() - start
    predictions = run_dir / PREDICTIONS_NAME
    write_predictions(
        (
            {"id": ex.id, "gold": ex.label, "pred": p.label, "label": p.label, "score": round(p.score, 6)}
            for ex, p in zip(examples, result.predictions, strict=True)
        ),
        predictions,
    )
    return {
        # scores, the per-relation report and the predicted labels in test-file order (enough to compare two runs'
        # errors from the records alone); scores and probabilities per example stay in test_predictions.jsonl
        "test": {**result.to_dict(report=True), "file": str(run.test), "labels": [p.label for p in result.predictions]},
        "dev": trained["best_dev"],
        "training": {
            "how": how,
            "best_step": trained["best_step"],
            "steps": trained["steps"],
            "stopped_early": trained["stopped_early"],
            "train_examples": trained["train_examples"],
            "dev_examples": trained["dev_examples"],
            "precision": resolve_precision(tc.precision),
        },
        "timings": {
            "train_seconds": trained["train_seconds"],
            "train_examples_per_second": trained["train_examples_per_second"],
            "test_seconds": round(test_seconds, 2),
            "test_sentences_per_second": round(len(examples) / test_seconds, 1) if test_seconds > 0 else None,
        },
        "run_dir": str(run_dir),
        "predictions": str(predictions),
        "config": config.model_dump(mode="json"),
    }


def _train(config: RunConfig, run_dir: Path, progress: bool) -> tuple[dict[str, Any], str]:
    """``train_run``'s results and how they came about: ``trained``, ``resumed`` (from the checkpoint an
    interrupted attempt left), or ``reused`` (an earlier attempt finished training this very config, then failed
    or was stopped while testing)."""
    saved = run_dir / RUN_CONFIG_NAME
    same = saved.is_file() and saved.read_text(encoding="utf-8") == config.to_yaml()
    results = run_dir / RESULTS_NAME
    if same and results.is_file() and is_model_dir(run_dir / "model"):
        return json.loads(results.read_text(encoding="utf-8")), "reused"
    results.unlink(missing_ok=True)  # from another config: must not pass for this one's if training stops early
    resume = same and (run_dir / CHECKPOINT_DIR).is_dir()
    trained = train_run(config, run_dir, resume=resume, overwrite=not resume, progress=progress)
    checkpoint = run_dir / CHECKPOINT_DIR
    if checkpoint.is_dir():
        shutil.rmtree(checkpoint)
    return trained, "resumed" if resume else "trained"
