#!/usr/bin/env bash
# Makes a tunelab lab of Banking77 (CC BY 4.0; PolyAI, Casanueva et al. 2020)
# from ../shared/datasets/banking77: 13 train rows per intent (1,001, seed 7),
# the test split shuffled, 150 test cases scored, the bundled base model.
# Then: cd DIR && tunelab ladder
#   bench/banking77/lab.sh /tmp/b77 [path/to/banking77] [path/to/tunelab]
set -euo pipefail
dir=${1:?usage: lab.sh DIR [DATASET_DIR] [TUNELAB]}
src=${2:-$(dirname "$0")/../../../shared/datasets/banking77}
bin=${3:-tunelab}
"$bin" init "$dir" >/dev/null
rm -rf "$dir"/data/* "$dir"/knowledge
python3 - "$src" "$dir" <<'PY'
import csv, json, random, sys
src, dst = sys.argv[1], sys.argv[2]
cats = json.load(open(f"{src}/categories.json"))
random.seed(7)
by = {}
for r in csv.DictReader(open(f"{src}/train.csv")):
    by.setdefault(r["category"], []).append(r)
train = []
for c in cats:
    random.shuffle(by[c])
    train += by[c][:13]
random.shuffle(train)
test = list(csv.DictReader(open(f"{src}/test.csv")))
random.shuffle(test)
for name, rows in (("train", train), ("test", test)):
    with open(f"{dst}/data/{name}.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["text", "category"])
        w.writeheader()
        w.writerows(rows)
labels = "\n".join("    - " + c for c in cats)
open(f"{dst}/tunelab.yaml", "w").write(f"""# Banking77 as a tunelab lab (bench/banking77/lab.sh).
task:
  name: banking77
  description: Name the intent of an online-banking customer's message.
  output: label
  labels:
{labels}
  volume: 20000
  constraints:
    min_quality: 0.8
    max_latency_ms: 2000
data:
  train: data/train.csv
  test: data/test.csv
  limit: 150
  columns: {{input: text, expected: category}}
  split:
    validation: 0.1
    seed: 7
models:
  - local:base
prompts:
  - technique: zero-shot
  - name: short
    instructions: Name the intent.
    template: "{{{{.Input}}}}"
  - name: few-shot-nearest
    technique: few-shot
    instructions: Name the intent.
    template: "{{{{.Input}}}}"
    few_shot: {{k: 4, select: nearest}}
scorers:
  - type: label
    primary: true
params:
  temperature: 0
  max_tokens: 16
concurrency: 2
local:
  hourly_usd: 0.10
tune:
  base: local:base
  prompt: short
  rank: 16
  epochs: 10
  lr: 0.004
""")
PY
echo "lab written to $dir: cd $dir && $bin ladder"
