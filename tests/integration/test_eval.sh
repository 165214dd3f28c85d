#!/usr/bin/env bash
# tests/integration/test_eval.sh BUILD — `clipcrawl eval zeroshot` and `eval linear-probe` end to
# end with a tiny model trained for a few steps on fixture-web pairs, evaluated on the fixture's
# held-out set (DIR/eval). The model is untrained, so this checks mechanics, not accuracy: the
# JSON fields and their consistency, the class-embedding cache (reuse, rebuild on a new key or a
# damaged file, refusal to overwrite a file that is not a cache), determinism, the caption-
# labelled manifest input, bad input and exit codes. docs/EVAL.md describes the measures.
source "$(dirname "$0")/lib.sh"
MKWEB=$(realpath "$BUILD/tools/mkweb")

"$MKWEB" --out "$T/web" --pairs 400 --eval 64 --seed 4 --quiet --no-warc
awk -F'\t' -v site="$T/web/site" 'NR > 2 && $22 == 1 {print site $12 "\t" $15}' \
  "$T/web/truth/pairs.tsv" >"$T/list.tsv"
"$BIN" --quiet shards pack --from "$T/list.tsv" --out "$T/shards" >/dev/null
"$BIN" --quiet tokenizer train --data "$T/shards" --vocab 1000 -o "$T/tok.bpe" >/dev/null
"$BIN" --quiet train --data "$T/shards" --tokenizer "$T/tok.bpe" --model tiny --batch 16 \
  --steps 5 --out "$T/run" >/dev/null
[ -s "$T/run/ckpt.bin" ] || fail "no checkpoint"
ok
EV="$T/web/eval"
M=(--tokenizer "$T/tok.bpe" --checkpoint "$T/run/ckpt.bin")
zs() { "$BIN" eval zeroshot --images "$EV" --label-column shape "${M[@]}" "$@"; }
lp() { "$BIN" eval linear-probe --images "$EV" --label-column shape "${M[@]}" "$@"; }

# ---- zero-shot: JSON fields, then the cache ------------------------------------------------------
expect 0 "" -- zs --cache "$T/zs.cache" --json "$T/zs1.json"
grep -q "top-1" "$T/out" || fail "zeroshot printed no top-1: $(cat "$T/out")"
grep -q '"a photo of a {}."' "$T/out" || fail "zeroshot printed no single-template line"
python3 - "$T/zs1.json" "$EV/labels.tsv" <<'PY' || fail "zeroshot JSON"
import json, sys
r = json.load(open(sys.argv[1]))
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if not l.startswith("#")][1:]
shapes = sorted({row[1] for row in rows})
assert r["images"] == len(rows) == 64 and r["skipped"] == 0 and r["unlabelled"] == 0, r
assert r["class_names"] == shapes and r["classes"] == len(shapes), r["class_names"]
assert r["templates"] == 18 and r["cache_reused"] is False
assert 0 <= r["top1"] <= r["top5"] <= 1
assert 0 <= r["single_template"]["top1"] <= r["single_template"]["top5"] <= 1
assert abs(r["chance"]["top1"] - 1 / len(shapes)) < 1e-6
conf = r["confusion"]
assert len(conf) == len(shapes) and all(len(row) == len(shapes) for row in conf)
assert sum(map(sum, conf)) == 64
assert abs(sum(conf[i][i] for i in range(len(conf))) / 64 - r["top1"]) < 1e-6
for i, pc in enumerate(r["per_class"]):
    want = sum(1 for row in rows if row[1] == shapes[i])
    assert pc["class"] == shapes[i] and pc["images"] == want == sum(conf[i]), pc
    assert abs(pc["accuracy"] - conf[i][i] / want) < 1e-6
PY
ok
[ -s "$T/zs.cache" ] && [ "$(head -c 4 "$T/zs.cache")" = CCZS ] || fail "no cache written"
expect 0 "" -- zs --cache "$T/zs.cache" --json "$T/zs2.json"
grep -q "from the cache" "$T/out" || fail "second run did not say it used the cache"
python3 - "$T/zs1.json" "$T/zs2.json" <<'PY' || fail "cached run differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert b["cache_reused"] is True
for k in ("top1", "top5", "single_template", "confusion", "per_class"):
    assert a[k] == b[k], k
PY
ok
# Other templates: another key, rebuilt (and the templates count follows the file).
printf 'a photo of a {}.\na drawing of a {}.\n' >"$T/tpl.txt"
expect 0 "" -- zs --cache "$T/zs.cache" --templates "$T/tpl.txt" --json "$T/zs3.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["cache_reused"] is False and r["templates"] == 2' \
  "$T/zs3.json" || fail "templates change did not rebuild the cache"
ok
# A classes file fixes the order (and a class with no image is allowed).
printf 'triangle\nsquare\ncircle\nstar\nheart\nhexagon\ncross\nring\nrhombus\n' >"$T/classes.txt"
expect 0 "" -- zs --classes "$T/classes.txt" --json "$T/zs4.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["class_names"][:3] == ["triangle","square","circle"] and r["classes"] == 9, r["class_names"]' \
  "$T/zs4.json" || fail "classes order"
ok
# A damaged cache is rebuilt with a warning; a file that is not a cache is left alone.
printf 'X' | dd of="$T/zs.cache" bs=1 seek=60 conv=notrunc 2>/dev/null
expect 0 "rebuilding" -- zs --cache "$T/zs.cache" --templates "$T/tpl.txt"
cp "$EV/labels.tsv" "$T/notcache"
expect 1 "not a clipcrawl" -- zs --cache "$T/notcache"
cmp -s "$T/notcache" "$EV/labels.tsv" || fail "a file that is not a cache was overwritten"
# An unreadable image is skipped and counted.
{ cat "$EV/labels.tsv"; printf 'img/missing.jpg\tstar\tred\tred star\t0\tsmall\tone\tcentre\tplain\n'; } \
  >"$T/labels_missing.tsv"
expect 0 "" -- zs --labels "$T/labels_missing.tsv" --json "$T/zs5.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["skipped"] == 1 and r["images"] == 64' \
  "$T/zs5.json" || fail "missing image not counted"
ok

# ---- linear probe --------------------------------------------------------------------------------
expect 0 "" -- lp --shots 1,2,4 --seed 3 --cache "$T/zs.cache" --json "$T/lp1.json" --png "$T/lp1.png"
[ "$(head -c 8 "$T/lp1.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || fail "few-shot plot is not a PNG"
expect 2 "--png is for linear-probe" -- zs --png "$T/x.png"
python3 - "$T/lp1.json" <<'PY' || fail "linear-probe JSON"
import json, sys
r = json.load(open(sys.argv[1]))
C = r["classes"]
assert r["images"] == 64 and r["seed"] == 3 and 0 < r["test_images"] < 64
assert 0 <= r["zeroshot"]["top1"] <= r["zeroshot"]["top5"] <= 1
assert [p["shots"] for p in r["probes"]] == [1, 2, 4, "all"], r["probes"]
assert r["probes"][0]["train_images"] == C  # every shape has images to train from
assert r["probes"][-1]["train_images"] == 64 - r["test_images"]
sizes = [p["train_images"] for p in r["probes"]]
assert sizes == sorted(sizes)
for p in r["probes"]:
    assert p["lambda"] in r["lambda_grid"] and 0 <= p["top1"] <= 1
    assert len(p["validation_top1"]) == len(r["lambda_grid"])
PY
ok
expect 0 "" -- lp --shots 1,2,4 --seed 3 --json "$T/lp2.json"
cmp -s "$T/lp1.json" "$T/lp2.json" || fail "linear probe not deterministic: $(diff "$T/lp1.json" "$T/lp2.json")"
ok

# ---- shard input labelled by captions, and retrieval still there ---------------------------------
expect 0 "" -- "$BIN" eval zeroshot --data "$T/shards" --labels-from-caption "$EV/shapes.txt" \
  "${M[@]}" --json "$T/zs6.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["images"] > 0 and r["images"] + r["unlabelled"] + r["skipped"] > 0' \
  "$T/zs6.json" || fail "caption-labelled input"
expect 0 "" -- "$BIN" eval linear-probe --data "$T/shards" --labels-from-caption "$EV/shapes.txt" \
  "${M[@]}" --shots 1
expect 0 "" -- "$BIN" eval retrieval --data "$T/shards" "${M[@]}" --max 64

# ---- bad input -----------------------------------------------------------------------------------
expect 2 "label-column" -- "$BIN" eval zeroshot --images "$EV" "${M[@]}"
expect 2 "either" -- "$BIN" eval zeroshot --images "$EV" --data "$T/shards" --label-column shape "${M[@]}"
expect 2 "labels-from-caption" -- "$BIN" eval zeroshot --data "$T/shards" "${M[@]}"
expect 2 "are needed" -- "$BIN" eval zeroshot --images "$EV" --label-column shape
expect 2 "--shots" -- zs --shots 1,2
expect 2 "bad --shots" -- lp --shots 0,1
expect 2 "bad --shots" -- lp --shots 1,,2
expect 2 "test-fraction" -- lp --test-fraction 1
expect 2 "unknown command 'nosuch'" -- "$BIN" eval nosuch
expect 1 "no column 'weight'" -- "$BIN" eval zeroshot --images "$EV" --label-column weight "${M[@]}"
expect 1 "" -- "$BIN" eval zeroshot --images "$T/nowhere" --label-column shape "${M[@]}"
expect 1 "" -- zs --checkpoint "$T/nowhere.bin"
"$BIN" --quiet tokenizer train --data "$T/shards" --vocab 700 -o "$T/tok2.bpe" >/dev/null
expect 1 "own tokenizer" -- zs --tokenizer "$T/tok2.bpe"
printf 'purple\n' >"$T/none.txt"
expect 1 "no image with a label" -- zs --classes "$T/none.txt"

echo "test_eval: $checks checks passed"
