"""Integration: fine-tuning the real MiniLM for a few steps on real SemEval sentences lowers the loss."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from accelerate.utils import set_seed

from relenc.data.readers import read_dataset
from relenc.models.extractor import RelationExtractor
from relenc.training.config import RunConfig
from relenc.training.run import train_run

pytestmark = pytest.mark.integration
TRAIN = "semeval2010_task8/SemEval2010_task8_all_data/SemEval2010_task8_training/TRAIN_FILE.TXT"


def nll(model: RelationExtractor, examples: list) -> float:
    preds = model.predict(examples, precision="fp32")
    return sum(-math.log(max(p.probabilities[ex.label], 1e-12)) for p, ex in zip(preds, examples, strict=True)) / len(
        examples
    )


def test_minilm_loss_falls(real_data: Path, tmp_path: Path) -> None:
    examples = read_dataset(real_data / TRAIN, "semeval")[:48]
    config = RunConfig.parse(
        {
            "model": {"strategy": "ht_mask", "encoder": "minilm"},
            "training": {
                "format": "semeval",
                "batch_size": 16,
                "max_steps": 24,
                "lr": 1e-4,
                "head_lr": 2e-3,
                "warmup_ratio": 0.0,
                "eval_every": 24,
                "seed": 5,
            },
        }
    )
    from relenc.data.labels import LabelSet
    from relenc.encoding.builder import InputConfig

    labels = LabelSet.from_labels(ex.label for ex in examples)
    set_seed(5)  # the same initial model as train_run builds
    initial = RelationExtractor.build("ht_mask", labels, {"main": "minilm"}, {"main": InputConfig()})
    before = nll(initial, examples)
    train_run(config, tmp_path, progress=False, data=(examples, examples))
    after = nll(RelationExtractor.from_pretrained(tmp_path), examples)
    assert after < 0.8 * before, (before, after)
