"""Experiment grids: one YAML file names datasets, strategy variants, encoders, seeds and a training budget; it
expands into single training runs with stable ids (``semeval-minilm-hybrid-s13``).

Why not a shell loop over ``relenc train``: the paper's comparison is a cross product (dataset x encoder x strategy
x seed) plus a few extra cells, every cell must get exactly the same budget, a hybrid should reuse the ``ht`` and
``mask`` encoders of its own cell instead of training them a second time, and an hour-long run must not be repeated
because another one failed. So every run gets an id and a hash of what the grid file says about it; a run whose
record carries the same hash is done (:mod:`relenc.experiments.records`).

The file::

    name: paper                      # results go to benchmarks/results/grid/paper, models to runs/experiments/paper
    data_dir: null                   # default: $RELENC_DATA_DIR, else ../shared/data (relative: to this file)
    training: {epochs: 3, batch_size: 32}           # the shared budget: any TrainConfig field
    datasets:
      - {name: semeval, format: semeval, train: ..., test: ..., metric: semeval}
      - {name: kbp37, format: kbp37, train: ..., dev: ..., test: ..., metric: micro,
         max_train_examples: 8000, training: {epochs: 2}}
    encoders:                        # optional: names for sources that are not plain names (minilm, mpnet)
      - {name: pre, source: runs/enc-pretrained}
    strategies:                      # optional: variants beside the built-in ones
      hybrid_tuned: {strategy: hybrid, model: {freeze_entity_encoder: false}, training: {epochs: 1}}
    grids:                           # each one a cross product; runs listed twice are one run
      - {datasets: [semeval, kbp37], encoders: [minilm], strategies: [ht, hybrid], seeds: [13, 42, 87]}
      - {datasets: [semeval], encoders: [mpnet], strategies: [ht, hybrid], seeds: [13]}

Training settings are merged in this order, later wins: ``training``, the dataset's ``training`` and
``max_train_examples``, the grid entry's ``training``, the strategy variant's ``training``.

A hybrid variant names the variants whose runs supply its encoders (``entity``, ``relation``; ``entity:
pretrained`` is the encoder as released, never trained on relations). Those runs, with the same dataset, encoder,
seed and budget, become dependencies: they run first, get their own records, and are added to the grid if it does
not list them (so ``[ht, hybrid]`` also trains ``mask``). A variant's own ``training`` applies to the hybrid's joint
step only, never to the runs it depends on. ``entity_encoder: minilm`` takes the entity side from another encoder of
the grid (its ``entity`` run, or its release with ``entity: pretrained``): the paper's hybrid of an entity encoder and
a separately pre-trained relation encoder::

      hybrid_minilm_entity: {strategy: hybrid, entity: ht, entity_encoder: minilm}   # in a grid over encoder `pre`

A variant with a ``teacher`` is distilled (:mod:`relenc.training.distill`): the teacher is the run of that variant
with the same dataset, seed and budget, on the cell's encoder or on ``teacher_encoder``, a dependency like a hybrid's
encoders; ``distill`` sets the rest of the run config's distill section (temperature, alpha). The student and its
teacher of one seed carve the same dev split, so the teacher has not trained on the student's dev sentences::

      ht_kd: {strategy: ht, teacher: ht, teacher_encoder: mpnet, distill: {temperature: 2.0, alpha: 0.5}}
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from relenc.data.paths import data_dir
from relenc.data.readers import FORMATS
from relenc.data.readers._common import read_yaml_mapping
from relenc.errors import RelencError
from relenc.evaluation.scorers import Metric, default_metric
from relenc.models.strategies import STRATEGY_NAMES, StrategyName
from relenc.training.config import DistillConfig, ModelConfig, RunConfig, TrainConfig

#: Bump when the meaning of a hashed field changes, so that old records count as stale.
HASH_VERSION = 1
#: ``entity: pretrained``: the hybrid's entity encoder is the grid's encoder as released.
PRETRAINED = "pretrained"
#: Set by the grid itself (from the dataset, the encoder and the seeds), so not allowed in overrides.
GRID_TRAINING_KEYS = frozenset({"train", "dev", "format", "metric", "seed"})
GRID_MODEL_KEYS = frozenset({"strategy", "encoder", "entity_encoder"})
DEFAULT_RESULTS_ROOT = Path("benchmarks/results/grid")
DEFAULT_RUNS_ROOT = Path("runs/experiments")

_NAME = re.compile(r"[A-Za-z0-9_.]+")
_GRID_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_GLOB = re.compile(r"[*?\[]")


def slug(text: str) -> str:
    """A name usable in run ids: characters other than letters, digits, ``_`` and ``.`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", text) or "_"


def _check_name(value: str, what: str) -> str:
    """Run ids join names with ``-``; a ``-`` inside a name would make two different runs share an id."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"{what} {value!r} may only use letters, digits, '_' and '.'")
    return value


def _problems(exc: ValidationError) -> str:
    """Pydantic's errors as one line: ``grids[0].seeds: Field required; ...``."""
    parts = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _check_overrides(
    value: dict[str, Any], model: type[BaseModel], reserved: Iterable[str], what: str
) -> dict[str, Any]:
    """Overrides of ``model``'s fields: unknown keys and bad values fail when the file is loaded, not hours later
    when the run that uses them starts."""
    taken = sorted(set(value) & set(reserved))
    if taken:
        raise ValueError(f"{', '.join(taken)} cannot be set in {what}: the grid sets it")
    try:
        model.model_validate(value)
    except ValidationError as exc:
        raise ValueError(_problems(exc)) from exc
    return value


class DatasetSpec(BaseModel):
    """A dataset: files relative to the data dir, their format, and the metric its test scores use."""

    model_config = ConfigDict(extra="forbid")

    name: str
    format: str
    train: str
    dev: str | None = Field(None, description="None: a seeded share of train becomes dev, as `relenc train` does.")
    test: str
    metric: Metric | None = Field(None, description="Default: the format's (semeval for semeval, else micro).")
    max_train_examples: int | None = Field(None, gt=0, description="Train on the first N examples only.")
    max_test_examples: int | None = Field(
        None, gt=0, description="Score the first N test examples only (smoke tests: not the official score)."
    )
    training: dict[str, Any] = Field(default_factory=dict, description="This dataset's budget (TrainConfig fields).")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "dataset name")

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in FORMATS:
            raise ValueError(f"unknown format {value!r}; choose one of {', '.join(FORMATS)}")
        return value

    @field_validator("training")
    @classmethod
    def _training(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _check_overrides(value, TrainConfig, GRID_TRAINING_KEYS | {"max_train_examples"}, "training")

    @property
    def scored_with(self) -> Metric:
        """The metric named in the file, else the format's default: what the runs select on and are tested with."""
        return self.metric or default_metric(self.format)


class EncoderSpec(BaseModel):
    """A name (used in run ids) for an encoder source: an alias, a directory or a hub name."""

    model_config = ConfigDict(extra="forbid")

    name: str
    source: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _check_name(value, "encoder name")


#: Overrides of the run config in a grid file, checked against the config's fields and what a grid may set.
ModelOverrides = Annotated[
    dict[str, Any], AfterValidator(lambda v: _check_overrides(v, ModelConfig, GRID_MODEL_KEYS, "model"))
]
TrainingOverrides = Annotated[
    dict[str, Any], AfterValidator(lambda v: _check_overrides(v, TrainConfig, GRID_TRAINING_KEYS, "training"))
]


def _check_distill(value: dict[str, Any]) -> dict[str, Any]:
    """A distilled variant's distill section: DistillConfig fields but the teacher, which the grid sets (a run)."""
    if "teacher" in value:
        raise ValueError("distill.teacher is set by the grid: name the teacher's variant in teacher")
    _check_overrides({"teacher": "a run of the grid", **value}, DistillConfig, (), "distill")
    return value


DistillOverrides = Annotated[dict[str, Any], AfterValidator(_check_distill)]


class Variant(BaseModel):
    """A grid's strategy variant (what the file's ``strategies`` name): a library strategy
    (:data:`relenc.models.strategies.STRATEGIES`) plus where a hybrid's encoders come from and its own settings.
    Several variants can share a strategy (``hybrid``, ``hybrid_frozen_entity``): the variant names the runs."""

    model_config = ConfigDict(extra="forbid")

    strategy: StrategyName
    entity: str | None = Field(
        None,
        description=f"Hybrid: the variant whose run gives the entity encoder, or {PRETRAINED!r} (default: ht).",
    )
    relation: str | None = Field(None, description="Hybrid: the variant whose run gives the relation encoder (mask).")
    entity_encoder: str | None = Field(
        None,
        description="Hybrid: the grid encoder the entity side comes from (its run of `entity`, or the encoder as "
        "released with entity: pretrained); default: the cell's own encoder. Joins, e.g., an entity encoder trained "
        "from MiniLM with a relation encoder trained from a pre-trained one.",
    )
    teacher: str | None = Field(
        None, description="Distil: the variant whose run (same dataset, seed and budget) teaches this one."
    )
    teacher_encoder: str | None = Field(
        None, description="Distil: the grid encoder the teacher's run uses (default: the cell's own encoder)."
    )
    distill: DistillOverrides = Field(
        default_factory=dict, description="Distil: DistillConfig fields (temperature, alpha) but the teacher."
    )
    model: ModelOverrides = Field(default_factory=dict, description="ModelConfig fields (freeze_*, dropout, ...).")
    training: TrainingOverrides = Field(
        default_factory=dict, description="TrainConfig fields; for a hybrid, of its joint step only."
    )

    @model_validator(mode="after")
    def _sources(self) -> Variant:
        if self.teacher is None and (self.teacher_encoder is not None or self.distill):
            raise ValueError("teacher_encoder and distill are for a distilled variant: name its teacher")
        if self.strategy != "hybrid":
            if self.entity is not None or self.relation is not None or self.entity_encoder is not None:
                raise ValueError("entity, relation and entity_encoder are for the hybrid strategy only")
            return self
        self.entity = self.entity or "ht"
        self.relation = self.relation or "mask"
        if self.relation == PRETRAINED:
            raise ValueError(
                f"relation: {PRETRAINED!r} is not supported: the hybrid's relation encoder is read at the mask "
                "token, so it must come from a trained run (e.g. mask)"
            )
        return self


#: Always available: every library strategy under its own name (a hybrid's encoders from the cell's ``ht`` and
#: ``mask`` runs), and ``hybrid_frozen_entity``, the paper's check that the relation encoder lacks entity
#: information: the entity embeddings come from the encoder as released, frozen and never trained on relations
#: (``benchmarks/strategies.py`` first called it ``hybrid_raw_entity``).
BUILTIN_VARIANTS: dict[str, Variant] = {
    **{name: Variant.model_validate({"strategy": name}) for name in STRATEGY_NAMES},
    "hybrid_frozen_entity": Variant(strategy="hybrid", entity=PRETRAINED, relation="mask"),
}


class CrossSpec(BaseModel):
    """One cross product of the grid: every dataset x encoder x seed x strategy."""

    model_config = ConfigDict(extra="forbid")

    datasets: list[str] = Field(min_length=1)
    encoders: list[str] = Field(min_length=1)
    strategies: list[str] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1)
    training: TrainingOverrides = Field(default_factory=dict, description="This entry's budget (TrainConfig fields).")
    tag: str | None = Field(
        None, description="Appended to the run ids: needed when two entries train the same cell differently."
    )

    @field_validator("tag")
    @classmethod
    def _tag(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, "tag")


class GridConfig(BaseModel):
    """A whole experiment grid (see the module docstring for the file format)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="Names the results and runs folders; default: the file's stem.")
    data_dir: str | None = Field(None, description="Data files are relative to it; relative to the grid file.")
    training: TrainingOverrides = Field(default_factory=dict, description="The shared budget (TrainConfig fields).")
    datasets: list[DatasetSpec] = Field(min_length=1)
    encoders: list[EncoderSpec] = Field(default_factory=list)
    strategies: dict[str, Variant] = Field(default_factory=dict, description="Variants beside the built-in ones.")
    grids: list[CrossSpec] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _GRID_NAME.fullmatch(value):
            raise ValueError(f"grid name {value!r} may only use letters, digits, '_', '.' and '-'")
        return value

    @classmethod
    def parse(cls, data: Any, source: str | Path = "experiment config") -> GridConfig:
        """Validate ``data`` (the loaded YAML); every problem is a RelencError naming ``source``."""
        if not isinstance(data, dict):
            raise RelencError(f"{source}: an experiment config must be a mapping, got {type(data).__name__}")
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            raise RelencError(f"{source}: invalid experiment config: {_problems(exc)}") from exc
        problems = config._reference_problems()
        if problems:
            raise RelencError(f"{source}: invalid experiment config: {'; '.join(problems)}")
        return config

    def all_variants(self) -> dict[str, Variant]:
        """The built-in variants and the file's, by name: what grid entries and hybrids may refer to."""
        return {**BUILTIN_VARIANTS, **self.strategies}

    def encoder_source(self, name: str) -> str:
        """A declared encoder's source; an undeclared plain name (``minilm``, ``mpnet``) is its own source."""
        declared = {enc.name: enc.source for enc in self.encoders}
        return declared.get(name, name)

    def _reference_problems(self) -> list[str]:
        """Names that point nowhere; each problem says where it is and what would be valid."""
        problems = []
        for what, names in (
            ("datasets", [d.name for d in self.datasets]),
            ("encoders", [e.name for e in self.encoders]),
        ):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                problems.append(f"{what}: {', '.join(dup)} defined twice")
        variants = self.all_variants()
        declared = {e.name for e in self.encoders}
        for name, variant in self.strategies.items():
            if variant.entity_encoder is not None and not (
                variant.entity_encoder in declared or _NAME.fullmatch(variant.entity_encoder)
            ):
                problems.append(
                    f"strategies.{name}.entity_encoder: {variant.entity_encoder!r} is not a plain name; declare it "
                    "under encoders with a name and a source"
                )
            if name in BUILTIN_VARIANTS or name == PRETRAINED:
                problems.append(f"strategies.{name}: {name!r} is a built-in name; choose another")
            elif not _NAME.fullmatch(name):
                problems.append(f"strategies.{name}: a name may only use letters, digits, '_' and '.'")
            if variant.teacher_encoder is not None and not (
                variant.teacher_encoder in declared or _NAME.fullmatch(variant.teacher_encoder)
            ):
                problems.append(
                    f"strategies.{name}.teacher_encoder: {variant.teacher_encoder!r} is not a plain name; declare it "
                    "under encoders with a name and a source"
                )
            if variant.teacher is not None:
                teacher = variants.get(variant.teacher)
                if teacher is None:
                    problems.append(f"strategies.{name}.teacher: unknown strategy {variant.teacher!r}")
                elif teacher.teacher is not None:
                    problems.append(f"strategies.{name}.teacher: {variant.teacher!r} is distilled itself")
            for role, ref in (("entity", variant.entity), ("relation", variant.relation)):
                if ref is None or ref == PRETRAINED:
                    continue
                target = variants.get(ref)
                if target is None:
                    problems.append(f"strategies.{name}.{role}: unknown strategy {ref!r}")
                elif target.strategy == "hybrid":
                    problems.append(f"strategies.{name}.{role}: {ref!r} is a hybrid; an encoder comes from one run")
        datasets = {d.name for d in self.datasets}
        for i, cross in enumerate(self.grids):
            for ds in cross.datasets:
                if ds not in datasets:
                    problems.append(
                        f"grids[{i}].datasets: unknown dataset {ds!r}; defined: {', '.join(sorted(datasets))}"
                    )
            for st in cross.strategies:
                if st not in variants:
                    problems.append(
                        f"grids[{i}].strategies: unknown strategy {st!r}; choose from {', '.join(variants)}"
                    )
            for enc in cross.encoders:
                if enc not in declared and not _NAME.fullmatch(enc):
                    problems.append(
                        f"grids[{i}].encoders: {enc!r} is not a plain name; declare it under encoders with a name "
                        "and a source"
                    )
        return problems


def load_grid(path: str | Path) -> GridConfig:
    """Read and validate a grid file; a problem is one RelencError naming the file."""
    data = read_yaml_mapping(path, "a mapping with 'datasets' and 'grids' sections")
    return GridConfig.parse(data, source=path)


def resolve_data_dir(flag: str | Path | None, config: GridConfig, source: str | Path | None) -> Path:
    """The data dir: the flag, else the file's ``data_dir`` (relative to the file), else ``$RELENC_DATA_DIR``,
    else ``../shared/data``."""
    if flag is not None:
        return Path(flag)
    if config.data_dir is not None:
        base = Path(source).parent if source is not None else Path()
        return base / config.data_dir
    return data_dir()


def default_results_dir(name: str) -> Path:
    return DEFAULT_RESULTS_ROOT / name


def default_runs_dir(name: str) -> Path:
    return DEFAULT_RUNS_ROOT / name


#: What a run takes from another run: a hybrid's entity or relation encoder, or a distilled run's teacher.
Role = Literal["entity", "relation", "teacher"]
#: A cell of the grid, one summary row: (dataset, encoder, strategy variant, tag); its runs differ by seed only.
Cell = tuple[str, str, str, str | None]


@dataclass(frozen=True)
class Run:
    """One training run of the grid.

    ``config`` has its data paths resolved against the data dir; a hybrid's encoders that come from other runs
    (``deps``, by role) are filled in by :meth:`resolved_config` once the runs dir is known. ``spec`` is what the
    grid file says about the run (data paths as written, dependencies by hash): ``config_hash`` is its hash, so
    moving the data or the runs dir does not make a finished run stale. ``strategy`` is the variant's name (as in
    the run id and the records), ``config.model.strategy`` the library strategy it trains.
    """

    id: str
    dataset: DatasetSpec
    encoder: str
    strategy: str
    seed: int
    tag: str | None
    config: RunConfig
    test: Path
    deps: dict[Role, str]
    spec: dict[str, Any]
    config_hash: str
    listed: bool

    @property
    def metric(self) -> Metric:
        return self.dataset.scored_with

    @property
    def cell(self) -> Cell:
        """The summary row the run belongs to: its seeds are the row's samples."""
        return (self.dataset.name, self.encoder, self.strategy, self.tag)

    def resolved_config(self, runs_dir: Path) -> RunConfig:
        """The config to train with: a dependency's encoder, or the teacher, is its trained model in ``runs_dir``."""
        fields = {"entity": "model.entity_encoder", "relation": "model.encoder", "teacher": "distill.teacher"}
        flags = {fields[role]: str((runs_dir / dep / "model").resolve()) for role, dep in self.deps.items()}
        return self.config.override(**flags) if flags else self.config


@dataclass(frozen=True)
class GridPlan:
    """The runs of a grid in execution order (every run after the runs it depends on)."""

    name: str
    source: str
    data_dir: Path
    runs: tuple[Run, ...]

    def by_id(self) -> dict[str, Run]:
        return {run.id: run for run in self.runs}

    def select(self, patterns: Sequence[str] = ()) -> list[Run]:
        """The runs whose id matches one of ``patterns`` (a glob, or else a substring), and what they depend on,
        in plan order; no pattern selects every run."""
        if not patterns:
            return list(self.runs)
        index = self.by_id()
        chosen: set[str] = set()

        def take(run_id: str) -> None:
            if run_id not in chosen:
                chosen.add(run_id)
                for dep in index[run_id].deps.values():
                    take(dep)

        for pattern in patterns:
            hits = [run.id for run in self.runs if matches(pattern, run.id)]
            if not hits:
                examples = ", ".join(run.id for run in self.runs[:3])
                raise RelencError(f"--only {pattern!r} matches no run of grid {self.name!r} (ids look like {examples})")
            for hit in hits:
                take(hit)
        return [run for run in self.runs if run.id in chosen]

    def missing_files(self, runs: Iterable[Run]) -> list[Path]:
        """Data files the runs need that do not exist: worth knowing before the first hour of training."""
        missing: dict[Path, None] = {}
        for run in runs:
            tc = run.config.training
            for path in (*tc.train_files, tc.dev, str(run.test)):
                if path is not None and not Path(path).is_file():
                    missing[Path(path)] = None
        return list(missing)


def matches(pattern: str, run_id: str) -> bool:
    """``--only``: a glob when the pattern has ``*``, ``?`` or ``[``, else a substring (``kbp37``, ``-s13``)."""
    if _GLOB.search(pattern):
        return fnmatch.fnmatchcase(run_id, pattern)
    return pattern in run_id


def run_id(dataset: str, encoder: str, strategy: str, seed: int, tag: str | None) -> str:
    return "-".join([dataset, encoder, strategy, f"s{seed}", *([tag] if tag else [])])


def plan_grid(config: GridConfig, source: str | Path, data_dir: str | Path) -> GridPlan:
    """Expand every cross product into runs, add the runs hybrids depend on, and check that one id never means
    two different runs."""
    name = config.name or Path(source).stem
    root = Path(data_dir).absolute()  # the configs and records then hold paths that work from any directory
    variants = config.all_variants()
    datasets = {d.name: d for d in config.datasets}
    runs: dict[str, Run] = {}
    origin: dict[str, int] = {}

    def add(ds: DatasetSpec, encoder: str, name: str, seed: int, index: int, listed: bool) -> Run:
        cross = config.grids[index]
        variant = variants[name]
        deps: dict[Role, Run] = {}
        if variant.teacher is not None:
            deps["teacher"] = add(ds, variant.teacher_encoder or encoder, variant.teacher, seed, index, listed=False)
        if variant.strategy == "hybrid":
            sources: tuple[tuple[Role, str, str | None], ...] = (
                ("entity", variant.entity_encoder or encoder, variant.entity),
                ("relation", encoder, variant.relation),
            )
            for role, source_encoder, ref in sources:
                if ref is not None and ref != PRETRAINED:
                    deps[role] = add(ds, source_encoder, ref, seed, index, listed=False)
        run = _make_run(config, str(source), root, ds, encoder, name, variant, seed, cross, deps, listed)
        existing = runs.get(run.id)
        if existing is None:
            runs[run.id] = run  # after its dependencies, which add() put in first
            origin[run.id] = index
            return run
        if existing.config_hash != run.config_hash:
            raise RelencError(
                f"{source}: run {run.id} is defined twice with different settings (grids[{origin[run.id]}] and "
                f"grids[{index}]); give one of the two entries a tag"
            )
        if listed and not existing.listed:
            runs[run.id] = replace(existing, listed=True)
        return runs[run.id]

    for index, cross in enumerate(config.grids):
        for ds_name in cross.datasets:
            for encoder in cross.encoders:
                for seed in cross.seeds:
                    for variant_name in cross.strategies:
                        add(datasets[ds_name], encoder, variant_name, seed, index, listed=True)
    return GridPlan(name=name, source=str(source), data_dir=root, runs=tuple(runs.values()))


def _make_run(
    config: GridConfig,
    source: str,
    data_dir: Path,
    ds: DatasetSpec,
    encoder: str,
    name: str,
    variant: Variant,
    seed: int,
    cross: CrossSpec,
    deps: dict[Role, Run],
    listed: bool,
) -> Run:
    """One run of variant ``name``: its config, and the hash of what the grid file says about it."""
    rid = run_id(ds.name, encoder, name, seed, cross.tag)
    training: dict[str, Any] = {**config.training, **ds.training}
    if ds.max_train_examples is not None:
        training["max_train_examples"] = ds.max_train_examples
    training.update(cross.training)
    training.update(variant.training)
    training.update(train=ds.train, dev=ds.dev, format=ds.format, metric=ds.scored_with, seed=seed)
    encoder_source = config.encoder_source(encoder)
    model: dict[str, Any] = {**variant.model, "strategy": variant.strategy, "encoder": encoder_source}
    if variant.strategy == "hybrid" and variant.entity == PRETRAINED:
        model["entity_encoder"] = config.encoder_source(variant.entity_encoder or encoder)
    written: dict[str, Any] = {"model": model, "training": training}
    if "teacher" in deps:  # the teacher's model path is known once the runs dir is: resolved_config
        written["distill"] = {**variant.distill, "teacher": deps["teacher"].id}
    hashed = {
        "version": HASH_VERSION,
        **written,
        "test": {"file": ds.test, "max_examples": ds.max_test_examples},
        "deps": {role: {"id": dep.id, "hash": dep.config_hash} for role, dep in sorted(deps.items())},
    }
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:16]
    resolved = {
        **training,
        "train": str(data_dir / ds.train),
        "dev": str(data_dir / ds.dev) if ds.dev is not None else None,
    }
    run_config = RunConfig.parse({**written, "training": resolved}, source=f"{source} (run {rid})")
    return Run(
        id=rid,
        dataset=ds,
        encoder=encoder,
        strategy=name,
        seed=seed,
        tag=cross.tag,
        config=run_config,
        test=data_dir / ds.test,
        deps={role: dep.id for role, dep in deps.items()},
        spec=hashed,
        config_hash=digest,
        listed=listed,
    )
