"""Run under ``accelerate launch --cpu --num_processes 2``: train a tiny model, write each rank's weight checksum."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import torch
from accelerate import PartialState

from relenc.training.config import RunConfig
from relenc.training.run import train_run


def main() -> None:
    encoder, data, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    config = RunConfig.parse(
        {
            "model": {"strategy": "ht_mask", "encoder": encoder},
            "training": {
                "train": data,
                "dev": data,
                "format": "jsonl",
                "batch_size": 2,
                "max_steps": 3,
                "precision": "fp32",
                "eval_every": 3,
            },
        }
    )
    from relenc.training import trainer

    captured = {}
    real_fit = trainer.fit

    def fit_and_capture(extractor, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = real_fit(extractor, *args, **kwargs)
        captured["model"] = extractor.model
        return result

    import relenc.training.run as run_module

    run_module.fit = fit_and_capture  # type: ignore[assignment]
    results = train_run(config, out / "run", progress=False)
    state = PartialState()
    digest = hashlib.sha256()
    for name, tensor in sorted(captured["model"].state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to(torch.float32).numpy().tobytes())
    (out / f"rank{state.process_index}.txt").write_text(
        f"{state.num_processes} {results['steps']} {digest.hexdigest()}"
    )


if __name__ == "__main__":
    main()
