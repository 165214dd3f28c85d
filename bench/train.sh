#!/usr/bin/env bash
# bench/train.sh BUILD [--steps N] — issue 8's trainer benchmark, one run of each:
#   - bench_train (clipcrawl's trainer, synthetic batches, no loader) and bench/train_torch.py
#     (the same model in PyTorch, tests/ref/torch_clip.py, torch.optim.AdamW) for the tiny model
#     at batch 128 and the small model at batch 64, same thread count (all cores): median step
#     time, samples/s, the ratio; goal >= 1.5x PyTorch;
#   - achieved GFLOP/s of one step's matrix products (the same sgemm shapes alone) against the
#     machine's fp32 peak, measured (every thread a single-threaded 1024^3 sgemm at once), with
#     the nominal figure (cores x /proc/cpuinfo MHz x 32 FLOP/cycle, two 8-wide FMA pipes) beside
#     it; goal >= 50 %;
#   - bench_loader's images/s at the model's input size against the trainer's samples/s.
# Table in BUILD/bench/train-bench.txt, figures in BUILD/bench/train.json.
set -euo pipefail
BUILD=${1:?usage: bench/train.sh BUILD [--steps N]}
shift
STEPS=5
while [ $# -gt 0 ]; do
  case $1 in
  --steps) STEPS=$2; shift 2 ;;
  *) echo "bench/train.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
for t in bench_train bench_loader; do
  [ -x "$BUILD/tools/$t" ] || { echo "bench: $BUILD/tools/$t missing (make all)" >&2; exit 1; }
done
"$PY" -c 'import torch' 2>/dev/null || { echo "bench: python3-torch missing (ops/deps.sh --bench)" >&2; exit 1; }
OUT=$BUILD/bench
mkdir -p "$OUT"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
THREADS=$(nproc)
# fp32 peak: cores x MHz x 32 FLOP/cycle (two 8-wide FMA pipes, AVX2 or AVX-512 on AMD Zen 4).
MHZ=$(awk -F: '/^cpu MHz/ {print $2; exit}' /proc/cpuinfo)
PEAK=$(awk -v m="$MHZ" -v c="$THREADS" 'BEGIN {printf "%.1f", c * m / 1000 * 32}')

for spec in "tiny 128" "small 64"; do
  set -- $spec
  echo "bench/train: $1, batch $2, $THREADS threads, $STEPS steps each" >&2
  "$BUILD/tools/bench_train" --model "$1" --batch "$2" --steps "$STEPS" --threads "$THREADS" \
    >"$W/c-$1.json"
  "$PY" "$HERE/train_torch.py" --model "$1" --batch "$2" --steps "$STEPS" --threads "$THREADS" \
    >"$W/t-$1.json"
done
"$BUILD/tools/bench_loader" --json "$W/loader.json" >"$W/loader.txt" 2>&1

"$PY" - "$W" "$OUT" "$PEAK" <<'PY' | tee "$OUT/train-bench.txt"
import json, sys
w, out, peak = sys.argv[1], sys.argv[2], float(sys.argv[3])
res = {"nominal_peak_gflops": peak, "models": {}}
lines = ["%-6s %5s %6s %12s %12s %12s %12s %7s %10s %8s" % (
    "model", "batch", "thr", "C step ms", "C samples/s", "torch ms", "torch smp/s", "ratio",
    "GEMM GF/s", "of peak")]
for m in ("tiny", "small"):
    c = json.load(open("%s/c-%s.json" % (w, m)))
    t = json.load(open("%s/t-%s.json" % (w, m)))
    ratio = t["step_ms"] / c["step_ms"]
    res["models"][m] = {"clipcrawl": c, "torch": t, "speedup": ratio}
    lines.append("%-6s %5d %6d %12.1f %12.1f %12.1f %12.1f %6.2fx %10.1f %7.0f%%" % (
        m, c["batch"], c["threads"], c["step_ms"], c["samples_per_s"], t["step_ms"],
        t["samples_per_s"], ratio, c["gemm_gflops"], 100 * c["gemm_of_peak"]))
    lines.append("       model %.1f GFLOP/s over the whole step; GEMMs are %.0f%% of the step" % (
        c["model_gflops"], 100 * c["gemm_share"]))
mp = res["models"]["tiny"]["clipcrawl"]["peak_gflops"]
lines.append("peak: measured %.0f GFLOP/s (per-thread 1024^3 sgemm), nominal %.0f at the listed clock"
             % (mp, peak))
lines.append("goal: >= 1.5x PyTorch (tiny %s, small %s), GEMMs >= 50%% of peak (tiny %s, small %s)" % (
    "met" if res["models"]["tiny"]["speedup"] >= 1.5 else "NOT met",
    "met" if res["models"]["small"]["speedup"] >= 1.5 else "NOT met",
    "met" if res["models"]["tiny"]["clipcrawl"]["gemm_of_peak"] >= 0.5 else "NOT met",
    "met" if res["models"]["small"]["clipcrawl"]["gemm_of_peak"] >= 0.5 else "NOT met"))
try:
    ld = json.load(open(w + "/loader.json"))
    res["loader"] = ld
    lines.append("loader: %s" % json.dumps(ld.get("summary", ld))[:400])
    lines.append("trainer consumption: tiny %.0f samples/s (64 px), small %.0f (128 px)" % (
        res["models"]["tiny"]["clipcrawl"]["samples_per_s"],
        res["models"]["small"]["clipcrawl"]["samples_per_s"]))
except (OSError, ValueError):
    lines.append("loader: no figures")
json.dump(res, open(out + "/train.json", "w"), indent=2)
print("\n".join(lines))
PY
