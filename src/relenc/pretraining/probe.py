"""A FewRel probe during pre-training: 5-way 1-shot accuracy of the encoder being trained, every N steps.

The contrastive loss falls on the training pairs whatever the encoder learns; what pre-training is for is relation
embeddings that separate unseen relations. The probe measures that while the run goes: nearest-prototype 5-way
1-shot accuracy on a FewRel file (with FewRel's 5 queries per relation), by the few-shot evaluation's own episode
sampler and scorer (:mod:`relenc.evaluation.fewshot`), on the embeddings the trained variant gives (``m`` for the
relation encoder's ``m`` variant, ``[h; t]`` for an entity encoder; the strategy the run's extractor reads).

Comparable from step to step: the episodes are drawn once, from the few-shot evaluation's fixed seed (not the run's
seed, so runs with other seeds are probed on the same episodes too), and they are the first ``episodes`` of what
``relenc fewshot --settings 5x1 --seed 13`` draws. Cheap as it can be: the sentences the episodes use are tokenised
once per run and embedded once per probe, in eval mode without gradient (the inference engine restores train mode
after), which draws no random numbers, so a probed run trains exactly as an unprobed one.

Each probe is a line of the run's log, ``OUTPUT/pretrain_log.jsonl`` (see :class:`ProbeLog`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from relenc.data.example import Example
from relenc.data.readers import read_dataset
from relenc.errors import DataError, RelencError
from relenc.evaluation.fewshot import (
    DEFAULT_SEED,
    STRATEGY_VECTORS,
    Episodes,
    Setting,
    episode_accuracies,
    group_by_relation,
    mean_ci,
    sample_episodes,
)
from relenc.io import write_lines_atomic
from relenc.models.engine import Item
from relenc.models.extractor import RelationExtractor

#: 5-way 1-shot with FewRel's 5 queries per relation: 25 queries an episode, so 200 episodes give an interval of
#: about ±3 points, tight enough to see a run improve.
SETTING = Setting(5, 1)
DEFAULT_EPISODES = 200
LOG_NAME = "pretrain_log.jsonl"
_BATCH_SIZE = 64  # sentences per embedding batch (length-bucketed, so padding is small)


@dataclass(frozen=True)
class ProbeResult:
    """One probe: the step it followed, the mean episode accuracy (0..1) and its 95% interval's half-width, the
    mean training loss of the steps since the previous probe (None at step 0) and the probe's own seconds."""

    step: int
    accuracy: float
    ci95: float
    loss: float | None
    seconds: float


class FewRelProbe:
    """The episodes of a FewRel file, drawn once, and :meth:`run` to score an extractor on them."""

    def __init__(self, path: str, episodes: int = DEFAULT_EPISODES, strategy: str = "mask") -> None:
        """Read ``path`` and draw the episodes now, before any model is loaded, so that a wrong file or one with
        too few relations fails in a second rather than after the encoder is built."""
        if strategy not in STRATEGY_VECTORS:
            raise RelencError(f"the probe reads one of {', '.join(STRATEGY_VECTORS)}, not {strategy!r}")
        if episodes < 2:
            raise RelencError(f"--probe-episodes must be at least 2 (for a confidence interval), got {episodes}")
        examples = read_dataset(path, "fewrel", allow_empty=False)
        groups = group_by_relation(examples, path)
        try:
            sampled = sample_episodes(groups, SETTING, episodes, DEFAULT_SEED)
        except RelencError as exc:
            raise RelencError(f"{path}: cannot be a 5-way 1-shot probe: {exc}") from None
        used = sampled.used()
        row_of = np.full(len(examples), -1, dtype=np.int64)
        row_of[used] = np.arange(len(used))
        self.path = path
        self.strategy = strategy
        self.examples: list[Example] = [examples[i] for i in used]
        self.episodes = Episodes(SETTING, sampled.relations, row_of[sampled.support], row_of[sampled.query])
        self._encoded: list[Item] | None = None

    def describe(self) -> dict[str, Any]:
        """What is probed, for the run's results."""
        return {
            "data": self.path,
            "strategy": self.strategy,
            "setting": SETTING.name,
            "queries": SETTING.n_query,
            "episodes": len(self.episodes),
            "seed": DEFAULT_SEED,
            "sentences": len(self.examples),
        }

    def run(self, extractor: RelationExtractor, step: int, loss: float | None, precision: str) -> ProbeResult:
        """Embed the episodes' sentences with ``extractor`` (each once) and score the episodes."""
        start = time.perf_counter()
        if self._encoded is None:  # the tokenizer does not change during a run: tokenise once
            self._encoded = extractor.encode(self.examples)
        parts = STRATEGY_VECTORS[self.strategy]
        vectors = extractor.embed(
            self.examples, parts=parts, batch_size=_BATCH_SIZE, precision=precision, encoded=self._encoded
        )
        matrix = np.concatenate([vectors[part] for part in parts], axis=1)
        mean, _, half = mean_ci(episode_accuracies(matrix, self.episodes))
        loss = None if loss is None else round(loss, 4)
        return ProbeResult(step, round(mean, 4), round(half, 4), loss, round(time.perf_counter() - start, 1))


class ProbeLog:
    """``OUTPUT/pretrain_log.jsonl``: one JSON line per probe (:class:`ProbeResult`), appended as the run goes, so
    that a long run can be watched (``tail -f``) and its curve survives a kill. A resumed run keeps the lines up to
    its checkpoint's step and drops the rest (the killed run's probes after it are probed again)."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOG_NAME

    def clear(self) -> None:
        """A run from step 0: an earlier run's log is not this run's."""
        self.path.unlink(missing_ok=True)

    def resume(self, step: int) -> list[ProbeResult]:
        """The probes up to ``step`` (the checkpoint's), the log cut to them."""
        kept = [result for result in self.read() if result.step <= step]
        if self.path.exists():
            write_lines_atomic(self.path, [json.dumps(asdict(result)) for result in kept])
        return kept

    def read(self) -> list[ProbeResult]:
        """The log's probes. A last line cut short (the run was killed while writing it) is dropped; any other line
        that is not a probe is a DataError naming it."""
        if not self.path.exists():
            return []
        lines = self.path.read_text("utf-8").splitlines()
        results = []
        keys = {f.name for f in fields(ProbeResult)}
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # cut short by the kill: the checkpoint is before it anyway
                    break
                raise DataError("not a JSON line; start again without --resume", self.path, f"line {number}") from None
            if not isinstance(record, dict) or record.keys() != keys:
                raise DataError("not a probe record; start again without --resume", self.path, f"line {number}")
            results.append(ProbeResult(**record))
        return results

    def append(self, result: ProbeResult) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(result)) + "\n")


def probe_summary(probe: FewRelProbe, results: Sequence[ProbeResult]) -> dict[str, Any]:
    """The probes for the run's results: what was probed, each step's accuracy, and the seconds they took."""
    return {
        **probe.describe(),
        "seconds": round(sum(result.seconds for result in results), 1),
        "history": [{"step": r.step, "accuracy": r.accuracy, "ci95": r.ci95} for r in results],
    }
