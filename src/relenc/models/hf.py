"""The transformers calls relenc makes on its own files, without transformers' chatter.

transformers draws a progress bar for every checkpoint it reads or writes ("Loading weights", "Writing model
shards") and warns, on every vocabulary resize, that the new rows are drawn from the old rows' mean and covariance.
One relenc run loads and saves encoders many times (stages, the best epoch, pre-training checkpoints), so its logs
filled with bars that ``--no-progress`` could not turn off and with a warning that asks nothing of the user. These
helpers silence both around relenc's own local reads and writes; a download from the hub keeps its progress bar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The transformers logger that warns about resized embeddings.
_MODELING_LOGGER = "transformers.modeling_utils"


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.ERROR


@contextmanager
def quiet() -> Iterator[None]:
    """transformers' progress bars off and its modelling warnings dropped, both restored on exit.

    The warnings are dropped by a filter, not by raising the logger's level: transformers reads that level while
    loading, and above ``WARNING`` it runs a tensor-parallel check that warns of its own ("layers were not sharded").
    """
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    logger = logging.getLogger(_MODELING_LOGGER)
    hf_logging.disable_progress_bar()
    logger.addFilter(_errors_only)
    try:
        yield
    finally:
        logger.removeFilter(_errors_only)
        if bars:
            hf_logging.enable_progress_bar()


def fit_embeddings(encoder: Any, tokenizer: Any) -> None:
    """Give ``encoder`` one input embedding per token of ``tokenizer`` (which gained relenc's markers or the blank).

    The new rows come from transformers' mean resizing (a normal with the old rows' mean and covariance, Hewitt
    2021), so a marker starts out like a typical word piece rather than as noise of another scale.
    """
    if len(tokenizer) != encoder.get_input_embeddings().num_embeddings:
        with quiet():
            encoder.resize_token_embeddings(len(tokenizer))


def save_encoder_files(encoder: Any, tokenizer: Any, directory: str | Path) -> None:
    """An encoder and its tokenizer as one Hugging Face directory (safetensors weights), which
    :func:`relenc.models.extractor.load_encoder` and plain transformers both read. The caller makes it atomic."""
    with quiet():
        encoder.save_pretrained(directory, safe_serialization=True)
        tokenizer.save_pretrained(directory)
