#!/usr/bin/env bash
# Downstream effect of self-supervised contrastive pre-training (issue: contrastive pre-training).
# 1. mine pairs from the Wikipedia sample, 2. pre-train MiniLM on them (InfoNCE on the [MASK] vector),
# 3. run the same hybrid recipe as benchmarks/strategies.py from the pre-trained encoder (same seed and budget),
# so that benchmarks/results/strategies-<dataset>-enc-pairs-m-*.json compares with strategies-<dataset>-minilm-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${RELENC_DATA_DIR:-$(cd .. && pwd)/shared/data}"
DATASET="${1:-semeval}"
EPOCHS="${2:-3}"
PY=.venv/bin/python
mkdir -p runs
# resumable: a finished run returns at once, an interrupted one goes on where it stopped
.venv/bin/relenc mine-pairs "$DATA/wikipedia_en_sample" --output runs/pairs/wiki_sample
# the first 4,000 mined pairs (8,000 sentences), one epoch: 125 steps of 32 pairs (18 min on 2 shared cores)
[ -f runs/enc-pairs-m/config.json ] || .venv/bin/relenc pretrain --pairs runs/pairs/wiki_sample --variant m \
    --batch-size 32 --max-examples 4000 --epochs 1 --lr 2e-5 --seed 13 --output runs/enc-pairs-m --no-progress
cp runs/enc-pairs-m/pretrain_results.json benchmarks/results/pretrain-enc-pairs-m.json
# further arguments go to strategies.py, e.g. `--max-train-examples 8000` for the KBP37 budget of docs/results.md
$PY benchmarks/strategies.py --dataset "$DATASET" --epochs "$EPOCHS" --seed 13 --encoder runs/enc-pairs-m --only ht mask hybrid "${@:3}"
