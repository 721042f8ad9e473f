#!/usr/bin/env bash
# The main job on the offline default: train the whole extractor for raw text on CoNLL04 with MiniLM (an entity
# recognizer, a relation classifier, a no-relation threshold tuned on dev), score it end to end on the test split,
# and extract triples from a paragraph of news text. About 15 minutes on 2 idle CPU cores.
# Point it at other data with RELENC_DATA_DIR (the folder that holds conll04/).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${RELENC_DATA_DIR:-$(cd .. && pwd)/shared/data}"
TRAIN="$DATA/conll04/train_triples.json"
DEV="$DATA/conll04/dev_triples.json"
TEST="$DATA/conll04/test_triples.json"
RUN="${RELENC_DEMO_RUN:-runs/demo-conll04}"
RELENC=.venv/bin/relenc
export HF_HUB_OFFLINE=1

if [ ! -f "$TRAIN" ]; then
  echo "error: CoNLL04 not found at $DATA/conll04 (set RELENC_DATA_DIR)" >&2
  exit 1
fi

echo "== 1. the data: sentences with typed entities and the relations between them"
$RELENC data stats "$TRAIN" --format spert --encoder minilm

echo "== 2. train the extractor: relation classifier, entity recognizer, then the decisions tuned on dev"
# RELENC_DEMO_TRAIN_ARGS adds flags, e.g. "--max-train-examples 100" for a quick smoke run
# shellcheck disable=SC2086
$RELENC train --config configs/demo-conll04.yaml --train "$TRAIN" --dev "$DEV" --output "$RUN" --resume \
  ${RELENC_DEMO_TRAIN_ARGS:-}

echo "== 3. end to end on the test split: entities and relations found from the tokens alone"
$RELENC evaluate "$RUN" "$TEST" --format spert --report

echo "== 4. triples from a paragraph of news text"
SAMPLE="$RUN/news.txt"
cat > "$SAMPLE" <<'TEXT'
Tim Cook is the chief executive of Apple. He was born in Alabama. Apple is based in Cupertino, California. David Chen, a lawyer at Goodwin Procter, said the case would go to trial.
TEXT
rm -f "$RUN/news_triples.jsonl"
$RELENC extract "$SAMPLE" "$RUN/news_triples.jsonl" --model "$RUN" --no-progress
.venv/bin/python scripts/show_triples.py "$RUN/news_triples.jsonl"
