#!/usr/bin/env bash
# clipcrawl tokenizer train|encode|stat end to end: a BPE trained on the captions of a packed
# shard folder, the same file from a second run, ids framed by start/end-of-text, every caption
# of the dataset decoding back to its cleaned text, truncation to --context, and the errors
# (bad flags exit 2; missing, foreign and damaged files exit 1 saying why).
# Usage: tests/integration/test_tokenizer.sh BUILD
. "$(dirname "$0")/lib.sh"

"$MK" --out "$T/img" --count 80 --seed 5 --min-side 120 --max-side 300 2>/dev/null
"$BIN" -q shards pack --from "$T/img/list.tsv" --out "$T/ds" --max-pairs 30 --min-size 0 \
  --dedupe none > /dev/null
"$BIN" shards dump "$T/ds" > "$T/dump.jsonl"
pairs=$(wc -l < "$T/dump.jsonl")
[ "$pairs" -gt 50 ] || fail "only $pairs pairs packed"
[ "$(ls "$T/ds"/shard-*.lmdb | wc -l)" -ge 2 ] || fail "want several shards"
ok

# Train; the report names the figures.
"$BIN" tokenizer train --data "$T/ds" --vocab 600 -o "$T/tok.bpe" > "$T/train.out"
grep -q "^texts $pairs$" "$T/train.out" || fail "train: $(cat "$T/train.out")"
grep -q "^distinct words [1-9]" "$T/train.out" || fail "train: $(cat "$T/train.out")"
grep -q "^vocab 600 (asked 600)$" "$T/train.out" || fail "train: $(cat "$T/train.out")"
grep -q "^merges learned 86$" "$T/train.out" || fail "train: $(cat "$T/train.out")"
grep -q "^seconds " "$T/train.out" || fail "train: $(cat "$T/train.out")"
ok
# The manifest file works as --data too, and training is deterministic: the same bytes.
"$BIN" -q tokenizer train --data "$T/ds/manifest.tsv" --vocab 600 --context 32 -o "$T/tok2.bpe" \
  > /dev/null
cmp -s <(head -c 24 "$T/tok.bpe") <(head -c 24 "$T/tok2.bpe") || fail "headers differ"
cmp -s <(tail -c +33 "$T/tok.bpe" | head -c 688) <(tail -c +33 "$T/tok2.bpe" | head -c 688) \
  || fail "two trainings gave different merges"
[ "$(stat -c %s "$T/tok.bpe")" -eq $((32 + 86 * 8 + 8)) ] || fail "file size"
[ ! -e "$T/tok.bpe.tmp" ] || fail "temporary file left behind"
ok

# stat
"$BIN" tokenizer stat "$T/tok.bpe" > "$T/stat.out"
for want in "vocab 600" "merges 86" "context 77" "start_of_text 598" "end_of_text 599"; do
  grep -qx "$want" "$T/stat.out" || fail "stat lacks '$want': $(cat "$T/stat.out")"
done
[ "$(grep -c '^  [0-9]* 5[0-9][0-9] ' "$T/stat.out")" -eq 20 ] || fail "stat: not 20 merges"
"$BIN" tokenizer stat "$T/tok2.bpe" | grep -qx "context 32" || fail "--context not saved"
ok

# encode: SOT first, EOT last, ids below the vocab; TEXT arguments and stdin lines agree.
"$BIN" tokenizer encode --tokenizer "$T/tok.bpe" "A photo of a red circle" "" > "$T/ids.out"
[ "$(wc -l < "$T/ids.out")" -eq 2 ] || fail "encode: want 2 lines"
head -n 1 "$T/ids.out" | grep -Eq '^598( [0-9]+)+ 599$' || fail "encode: $(head -n 1 "$T/ids.out")"
[ "$(sed -n 2p "$T/ids.out")" = "598 599" ] || fail "empty text: $(sed -n 2p "$T/ids.out")"
awk '{for (i = 1; i <= NF; i++) if ($i >= 600) exit 1}' "$T/ids.out" || fail "id beyond vocab"
printf 'A photo of a red circle\n\n' | "$BIN" tokenizer encode --tokenizer "$T/tok.bpe" \
  | cmp -s - "$T/ids.out" || fail "stdin lines encode differently"
ok

# --decode gives the cleaned text (ASCII lower-case, whitespace collapsed, entities) back.
"$BIN" tokenizer encode --tokenizer "$T/tok.bpe" --decode "  A Photo &amp; OF a  DOG,  sitting!! " \
  "東京 🙂 Café" > "$T/dec.out"
printf 'a photo & of a dog, sitting!!\n東京 🙂 café\n' | cmp -s - "$T/dec.out" \
  || fail "decode: $(cat "$T/dec.out")"
ok
# Every caption of the dataset round-trips.
python3 - "$T/dump.jsonl" "$T/captions.txt" "$T/cleaned.txt" <<'EOF'
import json, re, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as c, open(sys.argv[3], "w") as k:
    for line in f:
        cap = json.loads(line)["caption"]
        c.write(cap + "\n")
        low = "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in cap)
        k.write(re.sub(r"[ \t\n\r\f\v\xa0]+", " ", low).strip(" ") + "\n")
EOF
"$BIN" tokenizer encode --tokenizer "$T/tok.bpe" --context 300 --decode < "$T/captions.txt" \
  > "$T/roundtrip.txt"
[ "$(wc -l < "$T/roundtrip.txt")" -eq "$pairs" ] || fail "round trip: line count"
cmp -s "$T/roundtrip.txt" "$T/cleaned.txt" || {
  diff "$T/roundtrip.txt" "$T/cleaned.txt" | head -n 5 >&2
  fail "captions do not round-trip"
}
ok

# --context truncates with EOT last.
long=$(printf 'word%d ' $(seq 1 200))
"$BIN" tokenizer encode --tokenizer "$T/tok.bpe" --context 10 "$long" > "$T/trunc.out"
[ "$(wc -w < "$T/trunc.out")" -eq 10 ] || fail "truncation: $(cat "$T/trunc.out")"
grep -Eq '^598 .* 599$' "$T/trunc.out" || fail "truncation: $(cat "$T/trunc.out")"
[ "$("$BIN" tokenizer encode --tokenizer "$T/tok.bpe" "$long" | wc -w)" -eq 77 ] \
  || fail "default context is not 77"
ok

# Usage errors exit 2.
expect 2 "usage: clipcrawl tokenizer" -- "$BIN" tokenizer
expect 2 "unknown command 'bogus'" -- "$BIN" tokenizer bogus
expect 2 "--vocab needs" -- "$BIN" tokenizer train --data "$T/ds" --vocab 100 -o "$T/x.bpe"
expect 2 "--vocab N is required" -- "$BIN" tokenizer train --data "$T/ds" -o "$T/x.bpe"
expect 2 "-o FILE is required" -- "$BIN" tokenizer train --data "$T/ds" --vocab 600
expect 2 "--data" -- "$BIN" tokenizer train --vocab 600 -o "$T/x.bpe"
expect 2 "--context needs" -- "$BIN" tokenizer train --data "$T/ds" --vocab 600 --context 2 \
  -o "$T/x.bpe"
expect 2 "" -- "$BIN" tokenizer train --data "$T/ds" --vocab 600 -o "$T/x.bpe" --bogus
expect 2 "--tokenizer FILE is required" -- "$BIN" tokenizer encode hello
expect 2 "--context needs" -- "$BIN" tokenizer encode --tokenizer "$T/tok.bpe" --context x hi
expect 2 "missing FILE" -- "$BIN" tokenizer stat
[ ! -e "$T/x.bpe" ] || fail "a usage error wrote a file"
expect 0 "" -- "$BIN" tokenizer train --help
grep -q "usage: clipcrawl tokenizer train" "$T/out" || fail "train --help"

# Missing, foreign and damaged files exit 1 with the reason.
expect 1 "nope.bpe" -- "$BIN" tokenizer encode --tokenizer "$T/nope.bpe" hello
expect 1 "nope.bpe" -- "$BIN" tokenizer stat "$T/nope.bpe"
expect 1 "not a clipcrawl tokenizer" -- "$BIN" tokenizer stat "$T/ds/manifest.tsv"
cp "$T/tok.bpe" "$T/bad.bpe"
printf 'X' | dd of="$T/bad.bpe" bs=1 seek=100 conv=notrunc 2>/dev/null
expect 1 "checksum" -- "$BIN" tokenizer encode --tokenizer "$T/bad.bpe" hello
head -c 200 "$T/tok.bpe" > "$T/short.bpe"
expect 1 "truncated" -- "$BIN" tokenizer stat "$T/short.bpe"
expect 1 "manifest" -- "$BIN" tokenizer train --data "$T/empty-nothing" --vocab 600 -o "$T/x.bpe"
[ ! -e "$T/x.bpe" ] || fail "a failed training wrote a file"

echo "test_tokenizer: $checks checks passed"
