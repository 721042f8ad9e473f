"""Hyperparameter search: training runs whose settings Optuna draws, each an ordinary run (:func:`train_run`) in a
directory of its own, scored by its best dev F1.

A search directory holds::

    tune_config.yaml    the search's config (base run, space, search settings): a search resumes only with the same
    study.sqlite3       the Optuna study: each trial's settings, its dev F1 after every evaluation, its state
    trials/<n>/         trial n's run directory (run_config.yaml, model/, log.jsonl, results.json)
    best.yaml           the best trial's run config, for ``relenc train --config``

Trials are drawn by TPE (seeded) and pruned by the median rule: a trial whose dev F1 after evaluation k is below the
median of the earlier trials' (completed or pruned) after their evaluation k stops there. Evaluations are counted,
not steps, so with the default of one evaluation per epoch trials of different batch sizes are compared after the
same number of epochs (and of different epoch counts at the same epoch, which favours the shorter schedules: their
learning rate has fallen further by then).

Every trial trains and is scored on the same data, read once: the base run's train file and, without a dev file,
the dev split ``relenc train`` carves (:func:`relenc.data.splits.dev_split` with ``training.seed`` and
``training.dev_fraction``, 13 and 10 % by default: SemEval's 8,000 become 7,201 train and 799 dev). That is why a
search may not vary those fields; no test data is ever read.

A killed search resumes where it stopped: finished and pruned trials are kept, a trial that was running is marked
failed (its directory is left for a look), and new trials run until the requested number have finished.
"""

from __future__ import annotations

import fcntl
import itertools
import shutil
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from rich.console import Console

from relenc.data.example import Example
from relenc.data.readers import is_end_to_end
from relenc.data.readers._common import read_yaml_mapping
from relenc.errors import RelencError
from relenc.io import write_text_atomic
from relenc.training.config import RunConfig, problem_line
from relenc.training.run import RUN_FILES, load_training_data, train_run
from relenc.training.trainer import EvalHook

if TYPE_CHECKING:
    import optuna

STUDY_NAME = "relenc-tune"
TUNE_CONFIG_NAME = "tune_config.yaml"
STUDY_FILE = "study.sqlite3"
TRIALS_DIR = "trials"
BEST_NAME = "best.yaml"
#: What a search writes into its directory: any of them means the directory holds a search, and ``overwrite``
#: deletes exactly these.
TUNE_FILES: tuple[str, ...] = (TUNE_CONFIG_NAME, STUDY_FILE, TRIALS_DIR, BEST_NAME)
LOCK_NAME = ".tune.lock"
#: The space's one setting that is not a config field: the head's rate as a multiple of the encoder's.
HEAD_LR_MULTIPLIER = "head_lr_multiplier"
#: Settings a search may not vary: they choose the data, the dev split or the score, so trials would not compare.
FIXED_FIELDS = frozenset(
    f"training.{name}"
    for name in ("train", "dev", "format", "dev_fraction", "seed", "max_train_examples", "metric", "negative_label")
)

Scalar = str | int | float | bool


class Param(BaseModel):
    """One searched setting: a range from ``low`` to ``high`` (``log``: drawn on a log scale, ``step``: on a grid;
    whole numbers when both ends and the step are), or a list of ``choices``. One choice fixes the setting."""

    model_config = ConfigDict(extra="forbid")

    low: int | float | None = None
    high: int | float | None = None
    log: bool = False
    step: int | float | None = Field(None, gt=0)
    choices: list[Scalar] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Param:
        ranged = self.low is not None or self.high is not None or self.log or self.step is not None
        if self.choices is not None:
            if ranged:
                raise ValueError("give either choices or a range (low, high, log, step), not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give low and high, or choices")
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("a log scale needs low > 0 and no step")
        return self

    def values(self) -> list[Scalar]:
        """The values that stand for the whole setting when it is checked: the choices, or both ends."""
        return list(self.choices) if self.choices is not None else [v for v in (self.low, self.high) if v is not None]

    def suggest(self, trial: optuna.Trial, name: str) -> Scalar | None:
        """Draw this setting's value for ``trial``."""
        if self.choices is not None:
            return trial.suggest_categorical(name, self.choices)
        low, high = self.low, self.high
        if low is None or high is None:  # validation rules this out; the check narrows the types
            raise RelencError(f"space.{name}: give low and high, or choices")
        if all(isinstance(v, int) for v in (low, high, self.step or 1)):
            return trial.suggest_int(name, int(low), int(high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(name, low, high, step=self.step, log=self.log)


class SearchConfig(BaseModel):
    """How trials are drawn and stopped."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(13, description="Seed of the TPE sampler: a new search with this config draws the same trials.")
    startup_trials: int = Field(5, ge=0, description="Trials drawn at random before TPE models the results.")
    prune_after_trials: int = Field(
        3, ge=0, description="No trial is pruned before this many have finished: the median needs a few runs."
    )
    prune_warmup_evaluations: int = Field(
        1, ge=0, description="A trial's first N evaluations are never pruned: a slow start is not a bad run."
    )


class TuneConfig(BaseModel):
    """A search: the run every trial starts from, the settings drawn for each trial, and how trials are drawn."""

    model_config = ConfigDict(extra="forbid")

    run: RunConfig = Field(default_factory=lambda: RunConfig())
    space: dict[str, Param] = Field(
        min_length=1,
        description="Dotted run-config paths (training.lr, model.dropout) or head_lr_multiplier (head_lr = lr * it).",
    )
    search: SearchConfig = Field(default_factory=lambda: SearchConfig())

    @classmethod
    def parse(cls, data: dict[str, Any], source: str = "tune config") -> TuneConfig:
        """Validate ``data``: one ``<source>: <field>: <problem>`` line per problem, the space's values included
        (every value a trial may draw must make a valid run config)."""
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            raise RelencError("\n".join(problem_line(source, err) for err in exc.errors())) from exc
        problems = [
            f"{source}: space.{name}: {problem}"
            for name, param in config.space.items()
            for problem in _space_problems(config, name, param)
        ]
        if problems:
            raise RelencError("\n".join(problems))
        return config

    def override(self, **flags: Any) -> TuneConfig:
        """A copy whose base run has these dotted-path overrides (:meth:`RunConfig.override`)."""
        return self.model_copy(update={"run": self.run.override(**flags)})

    def trial_run(self, params: dict[str, Any]) -> RunConfig:
        """The run config of a trial with these drawn values; ``head_lr_multiplier`` sets head_lr to lr times it."""
        values = dict(params)
        multiplier = values.pop(HEAD_LR_MULTIPLIER, None)
        run = self.run.override(**values)
        if multiplier is not None:
            run = run.override(**{"training.head_lr": run.training.lr * multiplier})
        return run


def _space_problems(config: TuneConfig, name: str, param: Param) -> list[str]:
    """What is wrong with searching ``name`` over ``param``: a setting that is not there or must stay fixed, or a
    value the run config refuses."""
    if name == HEAD_LR_MULTIPLIER:
        if "training.head_lr" in config.space:
            return ["give head_lr_multiplier or training.head_lr, not both"]
        bad = [v for v in param.values() if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0]
        return [f"the multiplier must be a positive number, not {bad[0]!r}"] if bad else []
    if name in FIXED_FIELDS:
        return ["chooses the data, the dev split or the score, which every trial must share: set it under run"]
    data = config.run.model_dump(mode="json")
    if name not in _flat(data):
        return ["not a setting of the run config: use a dotted path such as training.lr, or head_lr_multiplier"]
    *parents, leaf = name.split(".")
    problems = []
    for value in param.values():
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value  # each value replaces the last in the same dump
        try:
            RunConfig.model_validate(data)
        except ValidationError as exc:
            problems += [f"{value!r}: {err['msg']}" for err in exc.errors()]
    return problems


def load_tune_config(path: str | Path) -> TuneConfig:
    """Load and check a search config; every problem is a RelencError naming the file."""
    data = read_yaml_mapping(path, "a mapping with 'run', 'space' and 'search' sections")
    return TuneConfig.parse(data, source=str(path))


@dataclass
class TuneResult:
    """What a search found: its best trial, that trial's dev F1, settings and run config, and how trials ended."""

    best_trial: int
    best_f1: float
    params: dict[str, Any]
    run: RunConfig
    best_config: Path
    best_model: Path
    states: dict[str, int]


def tune(
    config: TuneConfig,
    output: str | Path,
    trials: int,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
) -> TuneResult:
    """Search until ``trials`` trials (completed or pruned, those already in ``output`` included) have finished;
    write the best one's run config to ``output/best.yaml`` and return it.

    ``output`` must hold no search, unless ``resume`` continues the one in it (same config, checked field by field)
    or ``overwrite`` deletes it once the data has been read.
    """
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # relenc prints one line per trial itself
    out = Path(output)
    if is_end_to_end(config.run.training.format):
        raise RelencError(
            f"relenc tune searches the relation classifier of pair data; {config.run.training.format} holds whole "
            "sentences (an end-to-end extractor): tune on its pairs in JSONL, or train it with relenc train"
        )
    if not config.run.training.has_dev:
        raise RelencError("relenc tune scores every trial on dev: give a dev file or a dev_fraction above 0")
    _check_search_dir(config, out, resume, overwrite)
    data = load_training_data(config.run)  # once: every trial trains and is scored on the same split
    with _exclusive(out):
        _prepare_search_dir(config, out, overwrite)
        storage = optuna.storages.RDBStorage(f"sqlite:///{(out / STUDY_FILE).resolve()}")
        study = optuna.create_study(
            storage=storage,
            study_name=STUDY_NAME,
            direction="maximize",
            load_if_exists=True,
            pruner=_pruner(config.search),
        )
        study.sampler = _sampler(config.search, len(study.trials))
        _fail_interrupted(study, storage, out)
        remaining = trials - sum(_states(study)[state] for state in ("COMPLETE", "PRUNED"))
        if remaining > 0:
            objective = _objective(config, out, data, progress)
            study.optimize(objective, n_trials=remaining, callbacks=[_announce], gc_after_trial=True)
        return _write_best(config, study, out)


def _optuna() -> Any:
    """The optuna module, or an error that says how to install it (it is an optional extra)."""
    try:
        import optuna
    except ImportError as exc:
        raise RelencError("relenc tune needs Optuna: pip install 'relenc[tune]'") from exc
    return optuna


def _sampler(search: SearchConfig, held: int) -> optuna.samplers.BaseSampler:
    """TPE seeded with ``search.seed`` plus the number of trials the study already ``held``: a new search draws
    the same trials for the same seed, and a resumed one does not draw its first trials' settings again (the
    sampler's random state is not stored in the study)."""
    return _optuna().samplers.TPESampler(seed=search.seed + held, n_startup_trials=search.startup_trials)


def _pruner(search: SearchConfig) -> optuna.pruners.BasePruner:
    """Median pruning against every earlier trial that reached the same evaluation, pruned ones included.

    Optuna's ``MedianPruner`` takes the median of the *completed* trials only, and those are the survivors of
    earlier pruning: the bar ratchets up to the median of the best. In the 20-trial SemEval search run with it
    (docs/results.md) the last eleven trials were all pruned at their second epoch. Counting the pruned trials'
    values makes the bar the median of the search so far, as the docs say.
    """
    library = _optuna()
    finished = (library.trial.TrialState.COMPLETE, library.trial.TrialState.PRUNED)

    base: Any = library.pruners.BasePruner

    class MedianOfEarlierTrials(base):
        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            step = trial.last_step
            if step is None or step < search.prune_warmup_evaluations:
                return False
            earlier = study.get_trials(deepcopy=False, states=finished)
            values = [t.intermediate_values[step] for t in earlier if step in t.intermediate_values]
            if len(earlier) < search.prune_after_trials or not values:
                return False
            return trial.intermediate_values[step] < statistics.median(values)

    return MedianOfEarlierTrials()


def _check_search_dir(config: TuneConfig, out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to mix a training run or two searches in ``out``: a search is continued only with its own config."""
    if resume and overwrite:
        raise RelencError("--resume continues the search in the output directory and --overwrite deletes it: give one")
    runs = [name for name in RUN_FILES if (out / name).exists()]
    if runs:
        raise RelencError(f"{out} holds a training run ({', '.join(runs)}), not a search; choose another directory")
    held = [name for name in TUNE_FILES if (out / name).exists()]
    if not held or overwrite:
        return
    if not resume:
        raise RelencError(
            f"{out} already holds a search ({', '.join(held)}); continue it with --resume, replace it with "
            "--overwrite, or choose another output directory"
        )
    saved = out / TUNE_CONFIG_NAME
    if not saved.is_file():
        raise RelencError(f"{out} holds a search without {TUNE_CONFIG_NAME}; start again with --overwrite")
    changes = _changes(_flat(load_tune_config(saved).model_dump(mode="json")), _flat(config.model_dump(mode="json")))
    if changes:
        raise RelencError(
            f"{out} holds a different search, so it cannot be resumed with this config: {'; '.join(changes)}; "
            f"resume with its own config (--config {saved}) or start again with --overwrite"
        )


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested dump as dotted paths to leaves."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _changes(saved: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The settings that differ between the saved search and this one, with both values."""
    keys = [*saved, *(key for key in new if key not in saved)]
    return [
        f"{key} is {saved.get(key, 'absent')!r} in the search, {new.get(key, 'absent')!r} now"
        for key in keys
        if saved.get(key, "absent") != new.get(key, "absent")
    ]


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold a lock on the search directory while the search runs. A second ``relenc tune`` there is refused, so a
    trial found running can only be one a killed search left (the lock goes with the process that held it)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / LOCK_NAME).open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RelencError(f"{out}: another relenc tune is running in this directory; choose another") from exc
        yield


def _prepare_search_dir(config: TuneConfig, out: Path, overwrite: bool) -> None:
    """Delete the search being overwritten and save this search's config (kept as it is on resume)."""
    if overwrite:
        for name in TUNE_FILES:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    if not (out / TUNE_CONFIG_NAME).is_file():
        write_text_atomic(out / TUNE_CONFIG_NAME, yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))


def _fail_interrupted(study: optuna.Study, storage: optuna.storages.RDBStorage, out: Path) -> None:
    """Mark failed the trials still running in the study: the lock says no search runs here, so a killed one left
    them. A failed trial counts for nothing; the sampler ignores it and the search draws another."""
    optuna = _optuna()
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)
        Console(stderr=True).print(
            f"trial {trial.number} was interrupted: marked failed (its directory "
            f"{out / TRIALS_DIR / str(trial.number)} is left as it was)"
        )


def _states(study: optuna.Study) -> dict[str, int]:
    """How many trials of the study are in each state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING)."""
    counts = dict.fromkeys(("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING"), 0)
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name] += 1
    return counts


def _objective(
    config: TuneConfig, out: Path, data: tuple[Sequence[Example], Sequence[Example]], progress: bool
) -> Callable[[optuna.Trial], float]:
    """One trial: draw its settings, train its run in ``trials/<n>``, return its best dev F1."""

    def objective(trial: optuna.Trial) -> float:
        params = {name: param.suggest(trial, name) for name, param in config.space.items()}
        run = config.trial_run(params)
        output = out / TRIALS_DIR / str(trial.number)
        results = train_run(run, output, progress=progress, data=data, on_eval=_reporter(trial))
        return float(results["best_dev"]["f1"])

    return objective


def _reporter(trial: optuna.Trial) -> EvalHook:
    """The trainer's hook for a trial: report each dev F1, numbered by evaluation from 0, and stop the trial when
    the pruner says so (``TrialPruned`` leaves ``fit`` and ``train_run``, and Optuna marks the trial pruned)."""
    optuna = _optuna()
    evaluations = itertools.count()

    def report(step: int, epoch: float, dev: dict[str, float]) -> None:
        evaluation = next(evaluations)
        trial.report(dev["f1"], evaluation)
        if trial.should_prune():
            raise optuna.TrialPruned(
                f"dev F1 {dev['f1']:.2f} after evaluation {evaluation + 1} (epoch {epoch:.2f}) is below the median"
            )

    return report


def _announce(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """One line per finished trial: how it ended and the best so far."""
    if trial.state.name == "COMPLETE":
        ending = f"dev F1 {trial.value:.2f}"
    elif trial.state.name == "PRUNED":
        ending = f"pruned after {len(trial.intermediate_values)} evaluation(s)"
    else:
        ending = trial.state.name.lower()
    best = _best(study)
    so_far = f"; best: trial {best.number}, F1 {best.value:.2f}" if best is not None else ""
    Console(stderr=True).print(f"[bold]trial {trial.number}[/bold]: {ending}{so_far}")


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best completed trial, None before any has completed."""
    return study.best_trial if _states(study)["COMPLETE"] else None


def _write_best(config: TuneConfig, study: optuna.Study, out: Path) -> TuneResult:
    """Write the best trial's run config (``best.yaml``, loadable by ``relenc train --config``) and return it."""
    best = _best(study)
    states = _states(study)
    if best is None or best.value is None:
        raise RelencError(
            f"no trial of the search in {out} has completed ({states['PRUNED']} pruned, {states['FAIL']} failed); "
            "run more with --resume and a larger --trials"
        )
    run = config.trial_run(best.params)
    header = (
        f"# The best trial ({best.number}) of the search in {out}: dev F1 {best.value:.2f}; its model is in "
        f"{out / TRIALS_DIR / str(best.number) / 'model'}.\n# Train it again: relenc train --config {out / BEST_NAME} "
        "--output DIR\n"
    )
    write_text_atomic(out / BEST_NAME, header + run.to_yaml())
    return TuneResult(
        best_trial=best.number,
        best_f1=best.value,
        params=dict(best.params),
        run=run,
        best_config=out / BEST_NAME,
        best_model=out / TRIALS_DIR / str(best.number) / "model",
        states=states,
    )
