"""relenc's own loads and saves of encoders print none of transformers' progress bars or resize warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from builders import build
from transformers.utils import logging as hf_logging

from relenc.models.extractor import RelationExtractor
from relenc.models.hf import quiet


def test_build_save_and_load_leave_stderr_to_relenc(
    tiny_encoder: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    model = build("ht", tiny_encoder)  # the markers make the tokenizer longer: the embeddings are resized
    model.save_pretrained(tmp_path / "model")
    loaded = RelationExtractor.from_pretrained(tmp_path / "model")
    err = capfd.readouterr().err
    assert "Loading weights" not in err
    assert "Writing model shards" not in err
    assert "multivariate normal" not in err
    assert "not sharded" not in err  # what transformers says when its logger's level is raised while it loads
    assert len(loaded.parts["main"].tokenizer) == loaded.model.encoders["main"].get_input_embeddings().num_embeddings


def test_quiet_restores_what_it_changed() -> None:
    logger = logging.getLogger("transformers.modeling_utils")
    before = (hf_logging.is_progress_bar_enabled(), logger.level, list(logger.filters))
    with quiet():
        assert not hf_logging.is_progress_bar_enabled()
        assert logger.level == before[1]  # transformers reads it while loading: it must not change
        assert not logger.filter(logging.LogRecord(logger.name, logging.WARNING, "", 0, "resized", None, None))
    assert (hf_logging.is_progress_bar_enabled(), logger.level, list(logger.filters)) == before
