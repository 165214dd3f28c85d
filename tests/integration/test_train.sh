#!/usr/bin/env bash
# tests/integration/test_train.sh BUILD — the trainer end to end on fixture-web pairs: tokenizer,
# `clipcrawl train`, atomic checkpoints, exact resume after a stop, flag checks on resume, and
# `clipcrawl eval retrieval` on held-out pairs. docs/TRAINER.md describes what is checked.
source "$(dirname "$0")/lib.sh"
MKWEB=$(realpath "$BUILD/tools/mkweb")

# Pairs: the valid pairs of a small fixture web (truth/pairs.tsv), packed into shards of 400;
# the first two shards train, the third is held out.
"$MKWEB" --out "$T/web" --pairs 1500 --seed 3 --quiet --no-warc --eval 64
awk -F'\t' -v site="$T/web/site" 'NR > 2 && $22 == 1 {print site $12 "\t" $15}' \
  "$T/web/truth/pairs.tsv" >"$T/list.tsv"
"$BIN" --quiet shards pack --from "$T/list.tsv" --out "$T/shards" --max-pairs 400 >/dev/null
{ sed -n 1,2p "$T/shards/manifest.tsv"; sed -n 3,4p "$T/shards/manifest.tsv"; } >"$T/shards/train.tsv"
{ sed -n 1,2p "$T/shards/manifest.tsv"; sed -n 5p "$T/shards/manifest.tsv"; } >"$T/shards/held.tsv"
[ "$(wc -l <"$T/shards/held.tsv")" -eq 3 ] || fail "expected three shards, got: $(cat "$T/shards/manifest.tsv")"
ok

# ---- tokenizer ---------------------------------------------------------------------------------
expect 0 "" -- "$BIN" tokenizer train --data "$T/shards/train.tsv" --vocab 1000 -o "$T/tok.bpe"
ok

# ---- flags -------------------------------------------------------------------------------------
expect 2 "are needed" -- "$BIN" train --data "$T/shards/train.tsv" --out "$T/x"
expect 2 "bad value" -- "$BIN" train --data "$T/shards/train.tsv" --tokenizer "$T/tok.bpe" \
  --out "$T/x" --batch 1
expect 1 "tiny" -- "$BIN" train --data "$T/shards/train.tsv" --tokenizer "$T/tok.bpe" \
  --out "$T/x" --model nosuch
expect 1 "" -- "$BIN" train --data "$T/none" --tokenizer "$T/tok.bpe" --out "$T/x2"

# ---- exact resume: 12 steps in one go vs 5 + resume to 12, one thread ------------------------
train() { # OUT [flags...]
  local out=$1; shift
  "$BIN" --quiet train --data "$T/shards/train.tsv" --tokenizer "$T/tok.bpe" --model tiny \
    --batch 8 --steps 12 --lr 1e-3 --warmup 2 --seed 5 --threads 1 --loader-threads 2 \
    --out "$out" "$@"
}
expect 0 "" -- train "$T/a"
expect 0 "" -- train "$T/b" --stop-after 5
[ "$(tail -n 1 "$T/b/log.csv" | cut -d, -f1)" = 5 ] || fail "stop-after 5: $(tail -n 1 "$T/b/log.csv")"
expect 1 "--resume" -- train "$T/b"
expect 1 "--batch 16 differs" -- train "$T/b" --resume --batch 16
expect 0 "" -- train "$T/b" --resume
# Same losses, learning rates, scales and gradient norms, step by step (columns 1-6).
diff <(cut -d, -f1-6 "$T/a/log.csv") <(cut -d, -f1-6 "$T/b/log.csv") >"$T/diff" ||
  { cat "$T/diff" >&2; fail "resumed run differs from the uninterrupted one"; }
cmp "$T/a/ckpt.bin" "$T/b/ckpt.bin" || fail "checkpoints of the two runs differ"
ok

# A damaged checkpoint is refused with a clear message, never half-loaded.
cp "$T/b/ckpt.bin" "$T/bad.bin"
printf '\x55' | dd of="$T/bad.bin" bs=1 seek=4096 conv=notrunc 2>/dev/null
mkdir -p "$T/c" && cp "$T/bad.bin" "$T/c/ckpt.bin"
expect 1 "checksum" -- train "$T/c" --resume --steps 13
head -c 1000 "$T/b/ckpt.bin" >"$T/c/ckpt.bin"
expect 1 "truncated" -- train "$T/c" --resume --steps 13

# ---- learning: the loss falls below ln(batch) and held-out retrieval beats chance -----------
expect 0 "" -- "$BIN" train --data "$T/shards/train.tsv" --tokenizer "$T/tok.bpe" --model tiny \
  --batch 32 --steps 300 --lr 2e-3 --warmup 30 --seed 1 --out "$T/learn" --log-every 50 \
  --eval "$T/web/eval/labels.tsv:shape:$T/web/eval/shapes.txt" --eval-every 100
python3 - "$T/learn/log.csv" <<'PY' || fail "the loss did not fall"
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
first = sum(float(r["loss"]) for r in rows[:5]) / 5
last = sum(float(r["loss"]) for r in rows[-10:]) / 10
print("loss %.3f -> %.3f (ln 32 = %.3f)" % (first, last, math.log(32)))
sys.exit(0 if last < 0.6 * math.log(32) and last < first else 1)
PY
# The plots next to the logs.
for p in loss zeroshot; do
  [ "$(head -c 8 "$T/learn/$p.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] ||
    fail "$p.png is not a PNG"
done
# Zero-shot during training: a row per evaluation in eval.csv, accuracies in [0,1], chance 1/8.
python3 - "$T/learn/eval.csv" <<'PY' || fail "eval.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [(r["step"], r["task"]) for r in rows] == [("100", "shape"), ("200", "shape"), ("300", "shape")], rows
for r in rows:
    assert 0 <= float(r["top1"]) <= float(r["top5"]) <= 1 and r["chance"] == "0.1250", r
    assert r["images"] == "64", r
PY
expect 2 "bad value" -- "$BIN" train --data "$T/shards/train.tsv" --tokenizer "$T/tok.bpe" \
  --out "$T/x3" --eval-every 0 --eval "$T/web/eval/labels.tsv:shape"
expect 1 "expected LABELS:COLUMN" -- "$BIN" train --data "$T/shards/train.tsv" \
  --tokenizer "$T/tok.bpe" --out "$T/x3" --eval "$T/web/eval/labels.tsv"
expect 1 "nosuch" -- "$BIN" train --data "$T/shards/train.tsv" --tokenizer "$T/tok.bpe" \
  --out "$T/x3" --eval "$T/web/eval/labels.tsv:nosuch"
expect 0 "" -- "$BIN" eval retrieval --data "$T/shards/held.tsv" --tokenizer "$T/tok.bpe" \
  --checkpoint "$T/learn/ckpt.bin" --json "$T/ret.json"
cat "$T/out"
python3 - "$T/ret.json" <<'PY' || fail "held-out retrieval is not well above chance"
import json, sys
r = json.load(open(sys.argv[1]))
n = r["pairs"]
chance10 = 10 / n
print("image->text R@10 %.3f, chance %.3f" % (r["image_to_text"]["r10"], chance10))
sys.exit(0 if r["image_to_text"]["r10"] > 3 * chance10 and r["text_to_image"]["r10"] > 3 * chance10 else 1)
PY
ok

echo "test_train: $checks checks passed"
