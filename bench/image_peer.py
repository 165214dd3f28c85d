#!/usr/bin/python3
"""bench/image_peer.py LIST [--reps R] [--quality Q] [--size N] [--dump DIR] — the peer of
bench_image: Debian's python3-opencv doing img2dataset's per-image steps on the same files.

What img2dataset's resizer does for resize_mode "center_crop" (the default options:
resize_only_if_bigger off, encode_format jpg), one thread (cv2.setNumThreads(1)):
  decode  cv2.imdecode(np.frombuffer(bytes, np.uint8), cv2.IMREAD_COLOR)
  resize  albumentations' smallest_max_size: scale = N / shorter side, sides rounded with its
          py3round; cv2.resize with INTER_AREA when the shorter side is above N (downscale), else
          INTER_LANCZOS4; then albumentations' center_crop, a floor-centred N x N view
  encode  cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, Q])
All files are read into memory first. Every file goes through the three steps R times (default
3); each step is timed around its call with time.process_time_ns (CPU time of the process, as
bench_image counts: steadier than wall time on a shared machine, and the goal is per core) and
with time.perf_counter_ns (wall). Per repetition the sum over files of each step and of their
total; the figures are the medians over repetitions.

Prints one JSON object on stdout: pairs_per_s (files / median CPU total), decode_ms, resize_ms,
encode_ms, total_ms (CPU, per file), wall (the same by wall time), n, reps, mean_out_bytes,
by_format ({ext: {n, ms and the three stages' CPU ms per file}}), upscaled
(the lines of the files whose shorter side is not above N, which img2dataset resizes with
INTER_LANCZOS4, not INTER_AREA), seconds (the total of each repetition), and library versions.
--dump DIR (untimed, after the timed repetitions) writes each file's N x N pre-encode pixels as
binary PPM, RGB order, named NNNN.ppm by the file's line in LIST (from 0000), as bench_image
--dump does, for the PSNR comparison in bench/image.sh. Exit 1 when a file does not decode.
"""
import argparse
import json
import os
import statistics
import sys
import time

import cv2
import numpy as np


def py3round(number):
    """albumentations' rounding of the scaled sides (ties to even)."""
    if abs(round(number) - number) == 0.5:
        return int(2.0 * round(number / 2.0))
    return int(round(number))


def center_crop_resize(img, size):
    """img2dataset's center_crop: smallest_max_size then center_crop (albumentations)."""
    h, w = img.shape[:2]
    downscale = min(w, h) > size
    interpolation = cv2.INTER_AREA if downscale else cv2.INTER_LANCZOS4
    scale = size / float(min(w, h))
    if scale != 1.0:
        nh, nw = py3round(h * scale), py3round(w * scale)
        img = cv2.resize(img, (nw, nh), interpolation=interpolation)
    y1 = (img.shape[0] - size) // 2
    x1 = (img.shape[1] - size) // 2
    return img[y1:y1 + size, x1:x1 + size]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("list")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--dump")
    a = ap.parse_args()
    if a.reps < 1 or not 1 <= a.quality <= 100 or a.size < 1:
        sys.exit("image_peer: --reps >= 1, --quality 1..100, --size >= 1")
    cv2.setNumThreads(1)
    with open(a.list) as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    blobs = []
    for p in paths:
        with open(p, "rb") as f:
            blobs.append(f.read())
    exts = [os.path.splitext(p)[1].lstrip(".").lower() for p in paths]
    params = [cv2.IMWRITE_JPEG_QUALITY, a.quality]
    cpu, wall = time.process_time_ns, time.perf_counter_ns

    def stamp():
        return cpu(), wall()

    # Per repetition, [decode, resize, encode] sums: CPU, wall, and CPU per format.
    reps_cpu, reps_wall, fmt_ns = [], [], []
    upscaled, out_bytes = set(), 0
    for _ in range(a.reps):
        sc, sw, per_fmt = [0, 0, 0], [0, 0, 0], {}
        out_bytes = 0
        for i, (b, ext) in enumerate(zip(blobs, exts)):
            t0 = stamp()
            img = cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)
            t1 = stamp()
            src = img
            if img is not None:
                img = center_crop_resize(img, a.size)
            t2 = stamp()
            ok, buf = cv2.imencode(".jpg", img, params) if img is not None else (False, None)
            t3 = stamp()
            if src is None:
                sys.exit(f"image_peer: {paths[i]}: cv2.imdecode failed")
            if not ok:
                sys.exit(f"image_peer: {paths[i]}: cv2.imencode failed")
            if min(src.shape[:2]) <= a.size:  # not INTER_AREA but INTER_LANCZOS4
                upscaled.add(i)
            f = per_fmt.setdefault(ext, [0, 0, 0])
            for k, (u, v) in enumerate(((t0, t1), (t1, t2), (t2, t3))):
                sc[k] += v[0] - u[0]
                sw[k] += v[1] - u[1]
                f[k] += v[0] - u[0]
            out_bytes += len(buf)
        reps_cpu.append(sc)
        reps_wall.append(sw)
        fmt_ns.append(per_fmt)

    n = len(blobs)

    def per_file(reps, k=None):  # median over repetitions of a step (or the total), ms per file
        return round(statistics.median(sum(r) if k is None else r[k] for r in reps) / n / 1e6, 4)

    by_format = {}
    for ext in sorted(set(exts)):
        count = exts.count(ext)
        def ms(f):  # median over repetitions, per file
            return round(statistics.median(f(r[ext]) for r in fmt_ns) / count / 1e6, 4)
        by_format[ext] = {"n": count, "ms": ms(sum), "decode_ms": ms(lambda v: v[0]),
                          "resize_ms": ms(lambda v: v[1]), "encode_ms": ms(lambda v: v[2])}
    steps = ("decode_ms", "resize_ms", "encode_ms")
    res = {
        "pairs_per_s": round(1e3 / per_file(reps_cpu), 2),
        **{key: per_file(reps_cpu, k) for k, key in enumerate(steps)},
        "total_ms": per_file(reps_cpu),
        "wall": {"pairs_per_s": round(1e3 / per_file(reps_wall), 2),
                 **{key: per_file(reps_wall, k) for k, key in enumerate(steps)},
                 "total_ms": per_file(reps_wall)},
        "n": n,
        "reps": a.reps,
        "quality": a.quality,
        "size": a.size,
        "mean_out_bytes": round(out_bytes / n, 1),
        "by_format": by_format,
        "upscaled": sorted(upscaled),
        "cpu_seconds": [round(sum(r) / 1e9, 5) for r in reps_cpu],
        "wall_seconds": [round(sum(r) / 1e9, 5) for r in reps_wall],
        "opencv": cv2.__version__,
        "numpy": np.__version__,
    }

    if a.dump:
        os.makedirs(a.dump, exist_ok=True)
        for i, b in enumerate(blobs):
            img = cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)
            rgb = np.ascontiguousarray(center_crop_resize(img, a.size)[:, :, ::-1])
            with open(os.path.join(a.dump, f"{i:04d}.ppm"), "wb") as f:
                f.write(b"P6\n%d %d\n255\n" % (rgb.shape[1], rgb.shape[0]))
                f.write(rgb.tobytes())
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
