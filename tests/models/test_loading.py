"""Loading refuses a broken model: one RelencError naming the file and what to do, never a traceback or a model
that loads silently wrong (issue 13, cases 6, 7 and 10). Each test breaks a saved tiny model one way."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import build
from safetensors.torch import load_file, save_file
from transformers import AutoModel

from relenc.errors import RelencError
from relenc.models.extractor import RelationExtractor, load_encoder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RESAVE = "re-save the model with `relenc train`"


@pytest.fixture(scope="module")
def saved(tiny_encoder: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An intact ht_mask and an intact hybrid model, saved once; tests break copies of them."""
    root = tmp_path_factory.mktemp("saved")
    return {
        strategy: build(strategy, tiny_encoder).save_pretrained(root / strategy) for strategy in ("ht_mask", "hybrid")
    }


@pytest.fixture
def model(saved: dict[str, Path], tmp_path: Path) -> Path:
    """A fresh copy of the saved ht_mask model, free to break."""
    return Path(shutil.copytree(saved["ht_mask"], tmp_path / "model"))


def load_error(directory: Path) -> str:
    with pytest.raises(RelencError) as info:
        RelationExtractor.from_pretrained(directory)
    return str(info.value)


def edit_json(path: Path, change: Callable[[dict], None]) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_an_intact_copy_loads(model: Path) -> None:
    extractor = RelationExtractor.from_pretrained(model)
    assert (
        len(extractor.parts["main"].tokenizer) == extractor.model.encoders["main"].get_input_embeddings().num_embeddings
    )


# ----------------------------------------------------------------------------------- case 6: missing or inconsistent
def test_missing_tokenizer_files(model: Path) -> None:
    """The headline case: without tokenizer.json transformers loads a 9-token tokenizer and predicts from [UNK]."""
    encoder = model / "encoders" / "main"
    (encoder / "tokenizer.json").unlink()
    message = load_error(model)
    assert message.startswith(f"{encoder}: has no tokenizer files") and RESAVE in message
    (encoder / "tokenizer_config.json").unlink()
    assert load_error(model).startswith(f"{encoder / 'tokenizer_config.json'}: the file is missing")


def test_missing_encoder_config(model: Path) -> None:
    (model / "encoders" / "main" / "config.json").unlink()
    assert load_error(model).startswith(f"{model / 'encoders' / 'main' / 'config.json'}: the file is missing")


def test_missing_encoder_role(saved: dict[str, Path], tmp_path: Path) -> None:
    hybrid = Path(shutil.copytree(saved["hybrid"], tmp_path / "hybrid"))
    shutil.rmtree(hybrid / "encoders" / "relation")
    message = load_error(hybrid)
    assert message.startswith(f"{hybrid / 'encoders' / 'relation'}: the directory is missing")
    assert "needs a relation encoder" in message


def test_malformed_json_config(model: Path) -> None:
    (model / "relenc_config.json").write_text('{"strategy": "ht_mask", "labels": [', encoding="utf-8")
    message = load_error(model)
    assert message.startswith(f"{model / 'relenc_config.json'}: not valid JSON (line 1")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda c: c.update(strategy="cls"), "unknown strategy 'cls'"),
        (lambda c: c.pop("labels"), "lacks the key(s) labels"),
        (lambda c: c.update(labels=[]), "labels must be a non-empty list"),
        (lambda c: c.update(labels=["no_relation", "a", "a"]), "labels lists 'a' more than once"),
        (lambda c: c.update(negative_label="Other"), "negative_label 'Other' is not one of the labels"),
        (lambda c: c["inputs"].pop("main"), "no input config for the role 'main'"),
        (lambda c: c["inputs"]["main"].update(markers="bold"), "the input config of 'main' is invalid (markers"),
        (lambda c: c.update(frozen=["entity"]), "frozen must list roles of the ht_mask strategy"),
    ],
    ids=["strategy", "no-labels", "empty-labels", "duplicate-labels", "negative", "inputs", "markers", "frozen"],
)
def test_invalid_model_config(model: Path, change: Callable[[dict], None], problem: str) -> None:
    edit_json(model / "relenc_config.json", change)
    message = load_error(model)
    assert message.startswith(f"{model / 'relenc_config.json'}: ") and problem in message, message


def test_head_for_other_labels(model: Path) -> None:
    """A head saved for 3 labels, a config listing 4: torch's load_state_dict RuntimeError, before."""
    edit_json(model / "relenc_config.json", lambda c: c["labels"].append("per:city_of_birth"))
    message = load_error(model)
    assert message.startswith(f"{model / 'head.safetensors'}: net.3.weight has shape [3, 32], not [4, 32]")
    assert "the config lists 4 labels" in message


def test_head_for_another_strategy(model: Path) -> None:
    """The first layer takes (parts x hidden) inputs: an ht_mask head ([h; t; m], 96) cannot serve mask ([m], 32)."""
    edit_json(model / "relenc_config.json", lambda c: c.update(strategy="mask"))
    message = load_error(model)
    assert message.startswith(f"{model / 'head.safetensors'}: net.0.weight has shape [32, 96], not [32, 32]")
    assert "the mask strategy reads [m]" in message


def test_missing_head(model: Path) -> None:
    (model / "head.safetensors").unlink()
    assert load_error(model).startswith(f"{model / 'head.safetensors'}: the file is missing")


def test_embedding_rows_against_config(model: Path) -> None:
    edit_json(model / "encoders" / "main" / "config.json", lambda c: c.update(vocab_size=30522))
    message = load_error(model)
    assert message.startswith(f"{model / 'encoders' / 'main' / 'model.safetensors'}: embeddings.word_embeddings")
    assert "[30526, 32], but config.json says vocab_size 30522" in message


def test_embedding_rows_against_tokenizer(model: Path) -> None:
    """Weights without rows for the markers (config consistent with them): the markers would get random rows."""
    encoder = model / "encoders" / "main"
    weights = load_file(str(encoder / "model.safetensors"))
    name = "embeddings.word_embeddings.weight"
    weights[name] = weights[name][:30522].clone()
    save_file(weights, str(encoder / "model.safetensors"))
    edit_json(encoder / "config.json", lambda c: c.update(vocab_size=30522))
    message = load_error(model)
    assert message.startswith(f"{encoder}: the tokenizer has 30526 tokens but the encoder's embedding matrix has 30522")


def test_tokenizer_without_markers(model: Path, tiny_encoder: str) -> None:
    """A consistent encoder whose tokenizer lacks [E1] .. [/E2]: loading would add them with random embeddings."""
    encoder = model / "encoders" / "main"
    shutil.rmtree(encoder)
    shutil.copytree(tiny_encoder, encoder)
    message = load_error(model)
    assert message.startswith(f"{encoder / 'tokenizer.json'}: the tokenizer lacks marker tokens")
    assert "[E1], [/E1], [E2], [/E2]" in message


def test_marker_that_is_not_a_single_token(model: Path) -> None:
    """[E1] in the vocabulary but not an added token: the tokenizer splits it, and the head position is wrong."""
    encoder = model / "encoders" / "main"

    def demote(tokenizer: dict) -> None:
        entry = next(t for t in tokenizer["added_tokens"] if t["content"] == "[E1]")
        tokenizer["added_tokens"].remove(entry)
        tokenizer["model"]["vocab"]["[E1]"] = entry["id"]

    edit_json(encoder / "tokenizer.json", demote)
    edit_json(encoder / "tokenizer_config.json", lambda c: c["extra_special_tokens"].remove("[E1]"))
    message = load_error(model)
    assert message.startswith(f"{encoder / 'tokenizer.json'}: the tokenizer splits [E1]")


def test_sharded_weights(model: Path) -> None:
    """A sharded encoder loads; a shard that is gone is named."""
    encoder = model / "encoders" / "main"
    AutoModel.from_pretrained(encoder).save_pretrained(encoder, max_shard_size="1MB")
    (encoder / "model.safetensors").unlink()
    assert (encoder / "model.safetensors.index.json").is_file()
    RelationExtractor.from_pretrained(model)
    shard = sorted(encoder.glob("model-*.safetensors"))[-1]
    shard.unlink()
    assert load_error(model).startswith(f"{shard}: the file is missing")


# ----------------------------------------------------------------------------------- case 7: damaged files
def test_truncated_encoder_weights(model: Path) -> None:
    weights = model / "encoders" / "main" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    message = load_error(model)
    assert message.startswith(f"{weights}: not a readable safetensors file") and RESAVE in message


def test_garbage_head(model: Path) -> None:
    (model / "head.safetensors").write_bytes(b"\x00\xffnot a safetensors file" * 40)
    assert load_error(model).startswith(f"{model / 'head.safetensors'}: not a readable safetensors file")


def test_garbage_tokenizer(model: Path) -> None:
    """tokenizers raises a bare Exception for a tokenizer.json it cannot parse."""
    encoder = model / "encoders" / "main"
    (encoder / "tokenizer.json").write_text('{"version": "1.0", "added_tokens": [], "model": {"type": "?"}}')
    assert load_error(model).startswith(f"{encoder}: cannot load the tokenizer")


def test_plain_encoder_directory(tiny_encoder: str, tmp_path: Path) -> None:
    """from_encoder / load_encoder on a broken plain encoder name the directory and say what a whole one holds."""
    encoder = Path(shutil.copytree(tiny_encoder, tmp_path / "encoder"))
    (encoder / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(RelencError, match="point to a complete encoder directory") as info:
        RelationExtractor.from_encoder(str(encoder))
    assert str(info.value).startswith(f"{encoder / 'model.safetensors'}: not a readable safetensors file")
    (encoder / "model.safetensors").unlink()
    with pytest.raises(RelencError) as info:
        load_encoder(str(encoder))
    assert str(info.value).startswith(f"{encoder}: has no model.safetensors and no model.safetensors.index.json")
    shutil.copy(Path(tiny_encoder) / "model.safetensors", encoder)
    (encoder / "config.json").unlink()
    with pytest.raises(RelencError) as info:
        load_encoder(str(encoder))
    assert str(info.value).startswith(f"{encoder / 'config.json'}: the file is missing")


@pytest.mark.parametrize("command", ["evaluate", "predict", "serve"])
def test_cli_on_a_corrupt_model(command: str, model: Path, run_cli: Callable) -> None:
    """One `error:` line naming the file, exit code 2, no traceback."""
    weights = model / "encoders" / "main" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    args = [str(model)] if command == "serve" else [str(model), str(FIXTURES / "tiny_train.jsonl"), "--format", "jsonl"]
    code, out, err = run_cli([command, *args])
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {weights}: not a readable safetensors file"), err
    assert "Traceback" not in err and out == ""


# ----------------------------------------------------------------------------------- case 10: permissions
def test_saved_model_is_readable_by_others(tiny_encoder: str, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        target = build("ht", tiny_encoder).save_pretrained(tmp_path / "model")
    finally:
        os.umask(previous)
    modes = {str(p.relative_to(target)): stat.S_IMODE(p.stat().st_mode) for p in [target, *target.rglob("*")]}
    wrong = {name: oct(mode) for name, mode in modes.items() if mode != (0o755 if (target / name).is_dir() else 0o644)}
    assert wrong == {}
