"""N-way K-shot accuracy of relation embeddings on FewRel, with no training on FewRel's relations.

    python benchmarks/fewshot.py                                    # raw MiniLM, ht / mask / ht_mask, 4 settings
    python benchmarks/fewshot.py --pretrained runs/enc-pretrained   # and a `relenc pretrain` encoder beside it
    python benchmarks/fewshot.py --strategies mask --settings 5x1   # one strategy, one setting (a timing run)

Each encoder embeds every FewRel validation instance the seeded episodes use, once per input (``ht`` without the
prompt, ``mask``/``ht_mask`` with it), then classifies queries by the nearest prototype (cosine, the mean of the K
support embeddings). 1,000 episodes per setting, 5 queries per relation, seed 13: the same episodes for every
encoder and strategy. Prints a table (accuracy ± 95% CI) and writes JSON with the timings, machine, date and git
revision into benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from relenc.data.paths import data_dir
from relenc.data.readers import read_dataset
from relenc.evaluation.fewshot import STRATEGIES, FewShotReport, evaluate_fewshot, iter_rows, parse_settings
from relenc.io import write_text_atomic
from relenc.runtime import bf16_native

DATA = data_dir()
FEWREL = DATA / "fewrel" / "val_wiki.json"


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"unknown ({exc})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=FEWREL, help="FewRel-format file (default: FewRel 1.0 val).")
    parser.add_argument("--format", default="fewrel")
    parser.add_argument("--encoder", default="minilm", help="The raw encoder (never trained on relations).")
    parser.add_argument("--pretrained", default=None, help="Also evaluate this encoder or model directory.")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    parser.add_argument("--settings", default="5x1,5x5,10x1,10x5")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--metric", choices=["cosine", "euclidean"], default="cosine")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default under benchmarks/results)")
    args = parser.parse_args()

    settings = parse_settings(args.settings, args.queries)
    examples = read_dataset(args.data, args.format)
    sources = [args.encoder] + ([args.pretrained] if args.pretrained else [])
    reports: list[FewShotReport] = []
    for source in sources:
        Console(stderr=True).rule(f"{source} on {args.data.name}")
        report = evaluate_fewshot(
            source,
            examples,
            args.strategies,
            settings,
            episodes=args.episodes,
            seed=args.seed,
            metric=args.metric,
            precision=args.precision,
            batch_size=args.batch_size,
            progress=True,
            data_source=args.data,
        )
        reports.append(report)
        embed_seconds = sum(v for k, v in report.seconds.items() if k.startswith("embed_"))
        Console(stderr=True).print(
            f"{report.embedded} of {report.examples} examples used; {report.encoded} encoder inputs (one per example "
            f"and pass) in {embed_seconds:.0f} s, {report.encoded / max(embed_seconds, 1e-9):.1f}/s; "
            f"seconds: {report.seconds}"
        )

    table = Table(
        title=f"{args.data.name}: N-way K-shot accuracy (%), {args.episodes} episodes, {args.queries} queries, "
        f"seed {args.seed}, {args.metric} prototypes, ± 95% CI",
        caption="embed s: encoder time of that row; mask and ht_mask share one input (sentence + prompt), so the "
        "second of them costs nothing",
    )
    table.add_column("encoder")
    table.add_column("strategy")
    for s in settings:
        table.add_column(s.name, justify="right")
    table.add_column("embed s", justify="right")
    for report, source in zip(reports, sources, strict=True):
        for strategy, scores in iter_rows(report):
            by_setting = {s.setting: s for s in scores}
            table.add_row(
                Path(source).name,
                strategy,
                *(f"{by_setting[s.name].accuracy:.2f} ± {by_setting[s.name].ci95:.2f}" for s in settings),
                f"{report.seconds[f'embed_{strategy}']:.0f}",
            )
    Console().print(table)

    tag = f"{args.data.stem}-{Path(args.encoder).name}"
    if args.pretrained:
        tag += f"+{Path(args.pretrained).name}"
    if args.strategies != list(STRATEGIES) or args.settings != "5x1,5x5,10x1,10x5":
        tag += f"-{'_'.join(args.strategies)}-{args.settings.replace(',', '_')}"
    out = args.output or Path("benchmarks/results") / f"fewshot-{tag}-e{args.episodes}-s{args.seed}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "data": str(args.data),
        "args": {k: str(v) for k, v in vars(args).items()},
        "git": git_revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "bf16_native": bf16_native(),
            "load_average_at_end": os.getloadavg(),
        },
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "reports": [report.to_dict() for report in reports],
    }
    write_text_atomic(out, json.dumps(summary, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
