#!/usr/bin/env bash
# The main job on the offline default: train the MiniLM [H,T]+MASK hybrid on SemEval-2010 Task 8, score it on
# the test split with the official metric, show a few predictions, and extract triples from a sample paragraph.
# About 5-8 minutes on 2 CPU cores.
# Point it at other data with RELENC_DATA_DIR (the folder that holds semeval2010_task8/).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${RELENC_DATA_DIR:-$(cd .. && pwd)/shared/data}"
SEM="$DATA/semeval2010_task8/SemEval2010_task8_all_data"
TRAIN="$SEM/SemEval2010_task8_training/TRAIN_FILE.TXT"
TEST="$SEM/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT"
RUN="${RELENC_DEMO_RUN:-runs/demo-hybrid}"
RELENC=.venv/bin/relenc
export HF_HUB_OFFLINE=1

if [ ! -f "$TRAIN" ]; then
  echo "error: SemEval-2010 Task 8 not found at $SEM (set RELENC_DATA_DIR)" >&2
  exit 1
fi

echo "== 1. the data"
$RELENC data stats "$TRAIN" --format semeval --encoder minilm

echo "== 2. train the hybrid: an [H,T] entity encoder, a [MASK] relation encoder, then the joint classifier"
# RELENC_DEMO_TRAIN_ARGS adds flags, e.g. "--max-train-examples 300" for a quick smoke run
# shellcheck disable=SC2086
$RELENC train --config configs/demo.yaml --train "$TRAIN" --output "$RUN" ${RELENC_DEMO_TRAIN_ARGS:-}

echo "== 3. official SemEval-2010 Task 8 score on the test split"
$RELENC evaluate "$RUN" "$TEST" --format semeval --metric semeval --predictions "$RUN/test_predictions.jsonl"

echo "== 4. a few test predictions"
head -n 5 "$RUN/test_predictions.jsonl"

echo "== 5. triples from raw text (candidates: heads of spaCy noun chunks, as SemEval's nominals)"
SAMPLE="$RUN/sample.txt"
cat > "$SAMPLE" <<'TEXT'
The burst has been caused by water hammer pressure. A woman poured the milk into a jar in the kitchen.
The company fabricates plastic chairs, and the chairs are shipped to a warehouse in the harbour.
TEXT
rm -f "$RUN/sample_triples.jsonl"
$RELENC extract "$SAMPLE" "$RUN/sample_triples.jsonl" --model "$RUN" --candidates noun_chunks --threshold 0.6 --no-progress
.venv/bin/python - "$RUN/sample_triples.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    doc = json.loads(line)
    for r in doc["relations"]:
        print(f"  {r['head']['text']:>10} --{r['relation']}--> {r['tail']['text']}  ({r['score']:.2f})")
PY
