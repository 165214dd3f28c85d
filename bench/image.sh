#!/usr/bin/env bash
# Image benchmark (make bench): the per-pair image path against img2dataset's steps in OpenCV.
#   corpus   bench/mkphotos.py builds BUILD/bench/photos once (again only when the script or
#            PIL changes): 22 real photos from Debian's wallpaper packages at web sizes, longer
#            side 400-1600 px, about 80% JPEG (1 in 5 progressive), 10% PNG, 10% WebP.
#   ours     bench_image: img_filter_run (probe, checks, decode, resize center_crop 256, JPEG
#            encode at quality 90, hashes), one thread, median of R repetitions (default 3).
#   peer     bench/image_peer.py: Debian's python3-opencv doing img2dataset's steps on the same
#            files (cv2.imdecode, cv2.resize INTER_AREA + centre crop, cv2.imencode quality 90),
#            cv2.setNumThreads(1), same repetitions; run after ours, never at the same time.
#   ratio    ours / peer pairs per second per core, i.e. by CPU time (goal >= 4), also by wall
#            time, and the per-stage split (CPU time) side by side, overall and per input format.
#   quality  both write their 256 x 256 pre-encode pixels (untimed); the PSNR of ours against
#            OpenCV's INTER_AREA result per image, min / median / mean (goal >= 35 dB), over the
#            files img2dataset downscales; the ones it upscales (INTER_LANCZOS4) apart; and
#            for the downscaled files, ours from a full-size decode (what DCT scaling costs).
#   pHash    bench_image --phash-report on the original photos (see bench/bench_image.c).
# Figures: BUILD/bench/image.json (ours, peer, ratio, PSNR, pHash); the pixel dumps are removed.
# Usage: bench/image.sh BUILD [--reps R]
set -euo pipefail
BUILD=${1:?usage: bench/image.sh BUILD [--reps R]}
shift
REPS=3
while [ $# -gt 0 ]; do
  case $1 in
  --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
  *)
    echo "bench/image.sh: unknown option $1 (usage: bench/image.sh BUILD [--reps R])" >&2
    exit 2
    ;;
  esac
done
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
OUT=$BUILD/bench
PHOTOS=$OUT/photos
DUMP=$OUT/image-dump
SIZE=256
QUALITY=90
[ -x "$BUILD/tools/bench_image" ] || {
  echo "bench: $BUILD/tools/bench_image missing (make all)" >&2
  exit 1
}
"$PY" -c 'import cv2, numpy, PIL' 2>/dev/null || {
  echo "bench: $PY lacks cv2, numpy or PIL (bash ops/deps.sh --bench)" >&2
  exit 1
}
mkdir -p "$OUT"

# The corpus depends on mkphotos.py and PIL (and the installed photos): rebuild when one changes.
stamp="$(cksum <"$HERE/mkphotos.py") PIL $("$PY" -c 'import PIL; print(PIL.__version__)')"
if [ ! -f "$PHOTOS/list.txt" ] || [ "$(cat "$PHOTOS/.stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$PHOTOS"
  echo "bench: building the photo corpus in $PHOTOS"
  "$PY" "$HERE/mkphotos.py" "$PHOTOS"
  printf '%s\n' "$stamp" >"$PHOTOS/.stamp"
fi

rm -rf "$DUMP"
mkdir -p "$DUMP"
"$BUILD/tools/bench_image" --list "$PHOTOS/list.txt" --reps "$REPS" --size "$SIZE" \
  --quality "$QUALITY" --mode center_crop --dump "$DUMP/ours" --dump-full "$DUMP/ours-full" \
  --json "$OUT/image-ours.json" \
  --phash-report --originals "$PHOTOS/originals.txt"
echo "bench: OpenCV peer (img2dataset's steps), $REPS repetitions"
# stderr to a log: libpng warns on every PNG with the common (HP) sRGB ICC profile.
"$PY" "$HERE/image_peer.py" "$PHOTOS/list.txt" --reps "$REPS" --size "$SIZE" \
  --quality "$QUALITY" --dump "$DUMP/opencv" >"$OUT/image-opencv.json" \
  2>"$OUT/image-opencv.log" || {
  cat "$OUT/image-opencv.log" >&2
  exit 1
}

# Side by side, PSNR, and the one JSON file.
"$PY" - "$OUT" "$DUMP" <<'EOF'
import json, math, os, statistics, sys

out, dump = sys.argv[1], sys.argv[2]
ours = json.load(open(os.path.join(out, "image-ours.json")))
peer = json.load(open(os.path.join(out, "image-opencv.json")))
if ours["n"] != peer["n"]:
    sys.exit(f"bench: ours ran {ours['n']} files, the peer {peer['n']}")
n = ours["n"]

def ppm(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    head = data.split(b"\n", 3)  # P6, "w h", 255, pixels
    if head[0] != b"P6" or head[2] != b"255":
        sys.exit(f"bench: {path}: not a binary 8-bit PPM")
    w, h = map(int, head[1].split())
    return np.frombuffer(head[3], np.uint8, w * h * 3).reshape(h, w, 3)

def compare(ours_dir):
    """Per image: (PSNR of ours_dir's pixels against OpenCV's, squared error, values)."""
    res = []
    for i in range(n):
        a = ppm(os.path.join(ours_dir, f"{i:04d}.ppm")).astype("float64")
        b = ppm(os.path.join(dump, "opencv", f"{i:04d}.ppm")).astype("float64")
        if a.shape != b.shape:
            sys.exit(f"bench: image {i}: ours is {a.shape[1]}x{a.shape[0]}, "
                     f"OpenCV's {b.shape[1]}x{b.shape[0]}")
        err = float(((a - b) ** 2).sum())
        mse = err / a.size
        res.append((100.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse), err, a.size))
    return res


scaled = compare(os.path.join(dump, "ours"))
full = compare(os.path.join(dump, "ours-full"))
names = [os.path.basename(p) for p in
         open(os.path.join(os.path.dirname(dump), "photos", "list.txt")).read().split()]


def psnr_stats(cmp, idx):
    """min / median / mean of the per-image PSNR, the PSNR of the pooled error, the worst 3."""
    if not idx:
        return {"n": 0}
    v = [cmp[i][0] for i in idx]
    sq, px = sum(cmp[i][1] for i in idx), sum(cmp[i][2] for i in idx)
    worst = sorted(idx, key=lambda i: cmp[i][0])[:3]
    return {"n": len(idx), "min": round(min(v), 2), "median": round(statistics.median(v), 2),
            "mean": round(statistics.fmean(v), 2),
            "pooled": round(100.0 if sq == 0 else 10 * math.log10(255.0 ** 2 / (sq / px)), 2),
            "below_35": sum(x < 35 for x in v),
            "worst": [{"file": names[i], "psnr": round(cmp[i][0], 2)} for i in worst]}


# The goal is against INTER_AREA, which img2dataset uses only to downscale; files whose shorter
# side is not above the size go through INTER_LANCZOS4 there (ours: bilinear), reported apart.
up = set(peer["upscaled"])
down = [i for i in range(n) if i not in up]
q = psnr_stats(scaled, down)
q_up = psnr_stats(scaled, sorted(up))
q_all = psnr_stats(scaled, list(range(n)))
# The same resize from a full-size decode: what the JPEG DCT scaling costs against INTER_AREA.
q_full = psnr_stats(full, down)

ratio = ours["pairs_per_s"] / peer["pairs_per_s"]
ratio_wall = ours["pairs_per_s_wall"] / peer["wall"]["pairs_per_s"]
so, ot = ours["stages_ms"], ours["ms_per_image"]
pt = peer["total_ms"]
rows = [("probe (header)", so["probe"], None), ("decode", so["decode"], peer["decode_ms"]),
        ("blank check (32x32 thumb)", so["check"], None),
        ("resize + crop", so["resize"], peer["resize_ms"]),
        ("encode (JPEG)", so["encode"], peer["encode_ms"]),
        ("hashes (XXH3-128, pHash)", so["hash"], None), ("other", so["other"], None)]
print(f"\nimage path on one core (CPU time): ours (img_filter_run) vs OpenCV {peer['opencv']} "
      f"doing img2dataset's steps,\n{n} files, center_crop {ours['size']}, JPEG quality "
      f"{ours['quality']}, median of {ours['reps']} repetitions")
print(f"  {'stage':<28} {'ours ms':>8} {'share':>6}  {'OpenCV ms':>9} {'share':>6}  {'x':>5}")
for name, a, b in rows:
    right = f"{b:9.3f} {100 * b / pt:5.1f}%  {b / a if a > 0 else 0:5.1f}" if b is not None else ""
    print(f"  {name:<28} {a:8.3f} {100 * a / ot:5.1f}%  {right}")
print(f"  {'total (ms/image)':<28} {ot:8.3f} {'':>6}  {pt:9.3f} {'':>6}  {pt / ot:5.1f}")
print(f"  {'pairs/s per core (CPU time)':<28} {ours['pairs_per_s']:8.1f} {'':>6}  "
      f"{peer['pairs_per_s']:9.1f}")
print(f"  {'pairs/s by wall time':<28} {ours['pairs_per_s_wall']:8.1f} {'':>6}  "
      f"{peer['wall']['pairs_per_s']:9.1f}")
print(f"  ratio ours / OpenCV per core: {ratio:.2f}x (goal >= 4x: "
      f"{'met' if ratio >= 4 else 'NOT met'}); by wall time {ratio_wall:.2f}x")
print(f"  by input format, ms/image ours / OpenCV (x = OpenCV / ours):\n"
      f"  {'':<6} {'files':>5}  {'all':>19}  {'decode':>19}  {'resize':>19}  {'encode':>19}")
for k, pk in (("jpeg", "jpg"), ("png", "png"), ("webp", "webp")):
    if k in ours["by_format"] and pk in peer["by_format"]:
        a, b = ours["by_format"][k], peer["by_format"][pk]
        cells = [(a["ms"], b["ms"])] + [(a[s + "_ms"], b[s + "_ms"])
                                        for s in ("decode", "resize", "encode")]
        print(f"  {k:<6} {a['n']:>5}  " + "  ".join(
            f"{x:6.2f} /{y:6.2f} {y / x if x > 0 else 0:4.1f}x" for x, y in cells))
print(f"  mean output bytes: ours {ours['mean_out_bytes']:.0f}, "
      f"OpenCV {peer['mean_out_bytes']:.0f}")


def psnr_line(label, st):
    if not st["n"]:
        return f"  {label}: none"
    return (f"  {label}, {st['n']} files:\n    min {st['min']:.2f}, median {st['median']:.2f}, "
            f"mean {st['mean']:.2f}, pooled {st['pooled']:.2f} dB; below 35 dB: {st['below_35']}"
            f"\n    lowest: " + ", ".join(f"{w['file']} {w['psnr']:.2f}" for w in st["worst"]))


print(f"\nquality: PSNR of our {ours['size']}x{ours['size']} pre-encode pixels against OpenCV's "
      f"(before encoding)")
print(psnr_line("downscaled, vs INTER_AREA", q) +
      f"\n    goal >= 35 dB: {'met' if q['n'] and q['min'] >= 35 else 'NOT met'}")
print(psnr_line("upscaled (shorter side <= size), vs INTER_LANCZOS4", q_up))
print(psnr_line("all files", q_all))
print(psnr_line("downscaled, vs INTER_AREA, our resize from a full-size decode (no DCT scaling)",
                q_full))
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
res = {"files": n, "cpu": cpu, "cpus": os.cpu_count(), "ratio": round(ratio, 3),
       "ratio_wall": round(ratio_wall, 3), "goal_ratio": 4,
       "psnr_db": q, "psnr_db_upscaled": q_up, "psnr_db_all": q_all,
       "psnr_db_full_decode": q_full,
       "goal_psnr_db": 35, "ours": ours, "opencv": peer,
       "phash": ours.get("phash")}
with open(os.path.join(out, "image.json"), "w") as f:
    json.dump(res, f, indent=2)
    f.write("\n")
print(f"figures written to {os.path.join(out, 'image.json')}\n")
EOF
rm -rf "$DUMP" "$OUT/image-ours.json" "$OUT/image-opencv.json" "$OUT/image-opencv.log"
