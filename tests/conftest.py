"""Shared fixtures: a tiny randomly initialised BERT (built from a config) and the real-data location."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from relenc.data.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


RunCli = Callable[[list[str]], tuple[int, str, str]]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Runs ``relenc ARGS`` in-process through the console-script entry point; returns exit code, stdout, stderr.

    A fixture rather than an importable helper: pytest imports every ``conftest.py`` under the same module name, so
    ``from conftest import ...`` picks whichever conftest was loaded last.
    """
    from relenc.cli import main

    def run(args: list[str]) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            main(args)
            raise SystemExit(0)
        out = capsys.readouterr()
        return int(info.value.code or 0), out.out, out.err

    return run


@pytest.fixture(scope="session")
def real_data() -> Path:
    root = data_dir(REPO)
    if not root.is_dir():
        pytest.skip(f"real data not found at {root} (set RELENC_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, 32-wide BERT with random weights and MiniLM's real tokenizer, saved as a local directory."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from relenc.models.encoders import resolve_encoder

    out = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(resolve_encoder("minilm"))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    return str(out)
