"""Contrastive pre-training on pairs and on labelled data; the result loads as an encoder for fine-tuning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from safetensors.torch import load_file
from transformers import AutoTokenizer

from relenc.data.readers import read_dataset
from relenc.data.readers.jsonl import example_to_dict
from relenc.errors import RelencError
from relenc.evaluation.fewshot import evaluate_fewshot
from relenc.pretraining import pretrain as pretrain_module
from relenc.pretraining.data import read_pairs
from relenc.pretraining.pairs import MiningStats
from relenc.pretraining.pretrain import PretrainConfig, pretrain
from relenc.pretraining.shards import ShardedOutput
from relenc.training.config import RunConfig
from relenc.training.run import train_run

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_train.jsonl"


def write_pairs(path: Path, **extra: Any) -> Path:
    """Eight pairs of the fixture's sentences; ``hard_negatives=True`` gives each pair the next pair's sentences as
    hard negatives, other keywords go into every record as they are (``kind="entity"``)."""
    examples = read_dataset(FIXTURE, "jsonl")
    pairs = list(zip(examples[0::2], examples[1::2], strict=True))
    records = []
    for i, (a, b) in enumerate(pairs):
        record = {"id": str(i), "a": example_to_dict(a), "b": example_to_dict(b), **extra}
        if extra.get("hard_negatives"):
            record["hard_negatives"] = [example_to_dict(ex) for ex in pairs[(i + 1) % len(pairs)]]
        records.append(json.dumps(record))
    path.write_text("\n".join(records * 2) + "\n")
    return path


@pytest.mark.parametrize("variant", ["m", "both", "htm", "h"])
def test_pretrain_on_pairs_then_fine_tune(tiny_encoder: str, tmp_path: Path, variant: str) -> None:
    cfg = PretrainConfig(
        encoder=tiny_encoder,
        pairs=str(write_pairs(tmp_path / "p.jsonl")),
        variant=variant,
        batch_size=4,
        max_steps=12,
        lr=1e-3,
        precision="fp32",
    )
    results = pretrain(cfg, tmp_path / "enc", progress=False)
    assert results["steps"] == 12 and results["last_loss"] < results["first_loss"]
    assert (tmp_path / "enc" / "model.safetensors").is_file()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "enc")  # blanking is on by default: its token is saved
    assert "[BLANK]" in tokenizer.get_added_vocab() and len(tokenizer.tokenize("a [BLANK] b")) == 3
    run = RunConfig.parse(
        {
            "model": {"strategy": "ht_mask", "encoder": str(tmp_path / "enc")},
            "training": {"train": str(FIXTURE), "dev": str(FIXTURE), "max_steps": 2, "precision": "fp32"},
        }
    )
    assert train_run(run, tmp_path / "run", progress=False)["steps"] == 2


def test_pretrain_on_a_mining_directory(tiny_encoder: str, tmp_path: Path) -> None:
    """The shards of a mining run, in order, are the pairs; an unfinished run is refused."""
    lines = write_pairs(tmp_path / "p.jsonl").read_text().splitlines()
    out = ShardedOutput(tmp_path / "mined", job={})
    for first in range(0, len(lines), 3):
        out.add_shard(lines[first : first + 3], MiningStats(documents=1), first, ("a", "b"), elapsed=1.0)
    with pytest.raises(RelencError, match="unfinished mining run"):
        read_pairs(tmp_path / "mined")
    out.finish(elapsed=1.0)
    assert read_pairs(tmp_path / "mined") == read_pairs(tmp_path / "p.jsonl")
    assert read_pairs(tmp_path / "mined", limit=4) == read_pairs(tmp_path / "p.jsonl")[:4]
    cfg = PretrainConfig(
        encoder=tiny_encoder, pairs=str(tmp_path / "mined"), batch_size=4, max_steps=2, precision="fp32"
    )
    assert pretrain(cfg, tmp_path / "enc", progress=False)["steps"] == 2


def test_supervised_pretraining(tiny_encoder: str, tmp_path: Path) -> None:
    cfg = PretrainConfig(
        encoder=tiny_encoder,
        labelled=str(FIXTURE),
        format="jsonl",
        batch_size=8,
        max_steps=20,
        lr=1e-3,
        precision="fp32",
        negatives="class",
    )
    results = pretrain(cfg, tmp_path / "enc", progress=False)
    assert results["last_loss"] < results["first_loss"]


def test_needs_exactly_one_source(tiny_encoder: str, tmp_path: Path) -> None:
    with pytest.raises(RelencError, match="exactly one of --pairs"):
        pretrain(PretrainConfig(encoder=tiny_encoder), tmp_path / "x", progress=False)


def tiny_config(tiny_encoder: str, pairs: Path, **changes: Any) -> PretrainConfig:
    settings = {"batch_size": 2, "max_steps": 5, "lr": 1e-3, "precision": "fp32", "blank_probability": 0.5}
    return PretrainConfig(encoder=tiny_encoder, pairs=str(pairs), **{**settings, **changes})


def weights(directory: Path) -> dict[str, Any]:
    return load_file(str(directory / "model.safetensors"))


def test_a_killed_run_resumes_to_the_same_encoder(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blanking, hard negatives and gradient caching on: the resumed run draws the same blanks and dropout."""
    pairs = write_pairs(tmp_path / "p.jsonl", hard_negatives=True)
    cfg = tiny_config(tiny_encoder, pairs, checkpoint_every=2, chunk_size=3)
    reference = pretrain(cfg, tmp_path / "reference", progress=False)
    out = tmp_path / "out"
    calls = _killed_at_the_fifth_step(cfg, out, monkeypatch)
    assert json.loads((out / "checkpoint" / "pretrain_state.json").read_text())["step"] == 4
    calls.clear()
    resumed = pretrain(cfg, out, progress=False, resume=True)
    assert calls == [4]  # steps 0-3 came from the checkpoint
    assert {**resumed, "seconds": 0} == {**reference, "seconds": 0} and not (out / "checkpoint").exists()
    ours, theirs = weights(out), weights(tmp_path / "reference")
    assert ours.keys() == theirs.keys() and all(ours[k].equal(theirs[k]) for k in ours)
    assert pretrain(cfg, out, progress=False, resume=True) == resumed and calls == [4]  # finished: nothing to do
    with pytest.raises(RelencError, match=r"other settings \(blank_probability differ"):
        pretrain(cfg.model_copy(update={"blank_probability": 0.2}), out, progress=False, resume=True)


def test_no_blanking_leaves_the_tokenizer_as_it_was(tiny_encoder: str, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_encoder, write_pairs(tmp_path / "p.jsonl"), blank_probability=0.0, max_steps=1)
    pretrain(cfg, tmp_path / "enc", progress=False)
    assert "[BLANK]" not in AutoTokenizer.from_pretrained(tmp_path / "enc").get_added_vocab()


def test_entity_chain_pairs_train_the_head_vector(tiny_encoder: str, tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "p.jsonl", kind="entity")
    results = pretrain(tiny_config(tiny_encoder, pairs, variant="h", max_steps=2), tmp_path / "enc", progress=False)
    assert results["steps"] == 2 and results["hard_negatives"] == 0
    with pytest.raises(RelencError, match=r"entity-chain pairs.*--variant h"):
        pretrain(tiny_config(tiny_encoder, pairs, variant="m"), tmp_path / "m", progress=False)


def test_the_command_line(tiny_encoder: str, tmp_path: Path, run_cli: Any) -> None:
    pairs = write_pairs(tmp_path / "p.jsonl", hard_negatives=True)
    args = ["pretrain", "--pairs", str(pairs), "--encoder", tiny_encoder, "-o", str(tmp_path / "enc")]
    args += ["--batch-size", "2", "--max-steps", "2", "--precision", "fp32", "--no-progress", "--blank-probability"]
    args += ["1", "--hard-negatives", "2", "--chunk-size", "4", "--checkpoint-every", "1", "--resume"]
    code, stdout, stderr = run_cli(args)
    assert code == 0, stderr
    assert json.loads(stdout)["hard_negatives"] == 16 and "no checkpoint" in stderr and "probability 1.0" in stderr
    code, _, stderr = run_cli([*args[:-1], "--blank-probability", "1.5"])
    assert code != 0 and "blank_probability" in stderr


PROBE = Path(__file__).resolve().parents[1] / "fixtures" / "fewshot" / "fewrel_tiny.json"


def probe_log(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (directory / "pretrain_log.jsonl").read_text().splitlines()]


def test_the_probe_is_logged_at_step_0_every_n_steps_and_at_the_end(
    tiny_encoder: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real accuracies: the last one is what ``relenc fewshot`` measures on the saved encoder (the same episodes);
    and a probed run trains exactly as an unprobed one."""
    pairs = write_pairs(tmp_path / "p.jsonl", hard_negatives=True)
    cfg = tiny_config(tiny_encoder, pairs, probe=str(PROBE), probe_every=2, probe_episodes=20)
    results = pretrain(cfg, tmp_path / "enc", progress=False)
    log = probe_log(tmp_path / "enc")
    assert [record["step"] for record in log] == [0, 2, 4, 5]
    assert all(0 <= record["accuracy"] <= 1 and record["ci95"] > 0 for record in log)
    assert log[0]["loss"] is None and all(record["loss"] > 0 for record in log[1:])
    history = [{"step": r["step"], "accuracy": r["accuracy"], "ci95": r["ci95"]} for r in log]
    assert results["probe"]["history"] == history
    assert {k: results["probe"][k] for k in ("setting", "queries", "episodes", "strategy")} == {
        "setting": "5x1",
        "queries": 5,
        "episodes": 20,
        "strategy": "mask",
    }
    assert "step 0: FewRel 5-way 1-shot probe" in capsys.readouterr().err
    examples = read_dataset(PROBE, "fewrel")
    report = evaluate_fewshot(str(tmp_path / "enc"), examples, ["mask"], "5x1", episodes=20, seed=13, precision="fp32")
    assert abs(report.scores[0].accuracy - 100 * log[-1]["accuracy"]) < 0.01
    plain = pretrain(tiny_config(tiny_encoder, pairs), tmp_path / "plain", progress=False)
    assert plain["last_loss"] == results["last_loss"] and "probe" not in plain
    ours, theirs = weights(tmp_path / "enc"), weights(tmp_path / "plain")
    assert all(ours[k].equal(theirs[k]) for k in ours)
    assert not (tmp_path / "plain" / "pretrain_log.jsonl").exists()


def test_a_killed_probed_run_resumes_with_the_probes_of_its_checkpoint(
    tiny_encoder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = write_pairs(tmp_path / "p.jsonl")
    cfg = tiny_config(tiny_encoder, pairs, checkpoint_every=3, probe=str(PROBE), probe_every=1, probe_episodes=4)
    reference = pretrain(cfg, tmp_path / "reference", progress=False)
    out = tmp_path / "out"
    calls = _killed_at_the_fifth_step(cfg, out, monkeypatch)
    assert [record["step"] for record in probe_log(out)] == [0, 1, 2, 3, 4]  # the checkpoint is at step 3
    resumed = pretrain(cfg.model_copy(update={"probe_every": 2}), out, progress=False, resume=True)
    assert calls[5:] == [3, 4]

    def timeless(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**record, "seconds": 0} for record in log]

    # probe_every may change on resume: the probes up to the checkpoint stay, the next ones follow the new value
    assert [record["step"] for record in probe_log(out)] == [0, 1, 2, 3, 4, 5]
    assert timeless(probe_log(out)) == timeless(probe_log(tmp_path / "reference"))
    assert resumed["probe"]["history"] == reference["probe"]["history"]


def test_probe_options_are_checked_before_the_encoder_loads(tiny_encoder: str, tmp_path: Path) -> None:
    pairs = write_pairs(tmp_path / "p.jsonl")
    with pytest.raises(RelencError, match=r"^run.yaml: probe_every needs probe \(a FewRel file to probe on\)$"):
        PretrainConfig.parse({"pairs": str(pairs), "probe_every": 2}, "run.yaml")
    few = tmp_path / "few.json"
    few.write_text(json.dumps({rel: items for rel, items in list(json.loads(PROBE.read_text()).items())[:4]}))
    with pytest.raises(RelencError, match=r"few.json: cannot be a 5-way 1-shot probe: .*at least 5 relations"):
        pretrain(tiny_config("no-such-encoder", pairs, probe=str(few)), tmp_path / "x", progress=False)
    with pytest.raises(RelencError, match=r"missing.json: file not found"):
        pretrain(tiny_config("no-such-encoder", pairs, probe=str(tmp_path / "missing.json")), tmp_path / "x")


def _killed_at_the_fifth_step(cfg: PretrainConfig, out: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run ``cfg`` into ``out`` until a KeyboardInterrupt at its fifth step (as a kill would stop it); the steps'
    last arguments are recorded in the returned list, which goes on recording when the run is resumed."""
    real, calls = pretrain_module._Loop._step, []

    def killed(self: Any, *args: Any) -> float:
        calls.append(args[-1])
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(pretrain_module._Loop, "_step", killed)
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg, out, progress=False)
    return calls
