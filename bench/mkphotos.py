#!/usr/bin/python3
"""bench/mkphotos.py OUT_DIR — the real-photo corpus of the image benchmark (bench/image.sh).

Sources: Debian's wallpaper packages, real camera photos:
  mate-backgrounds             /usr/share/backgrounds/mate/nature/*.jpg (12 photos)
  plasma-workspace-wallpapers  /usr/share/wallpapers/<Name>/contents/images/, the largest file
                               of the folder, for the names in WALLPAPERS (missing ones skipped)
Each photo is made upright (EXIF orientation applied), converted to RGB and saved at every web
size in SIDES up to its own (longer side, aspect kept, PIL LANCZOS) in the web's mix of formats:
of all files, 10% PNG, 10% WebP (lossy, quality 80), the rest JPEG at quality 80..92 of which
1 in 5 is progressive (and Huffman-optimized). Formats and qualities are dealt from a fixed
seed, so two runs with the same PIL write the same bytes. Regular files only (the other sizes
in a wallpaper folder are symlinks to the largest).

Writes, in OUT_DIR (created; existing corpus files are overwritten):
  NN-<photo>-<side>.<ext>  the corpus (NN = the photo's line in originals.txt, from 00)
  list.txt                 corpus paths, one a line, in a fixed order
  originals.txt            the source photo paths used, one a line (bench_image --originals)
The caller (bench/image.sh) keeps the stamp that decides when to run this again.
"""
import glob
import os
import random
import sys

from PIL import Image, ImageOps

SEED = 20240611
SIDES = (400, 640, 800, 1024, 1280, 1600)
MATE = "/usr/share/backgrounds/mate/nature"
PLASMA = "/usr/share/wallpapers"
WALLPAPERS = ("BytheWater", "ColdRipple", "ColorfulCups", "EveningGlow", "FallenLeaf", "Grey",
              "Kite", "OneStandsOut", "Path", "summer_1am")


def sources():
    """The original photo paths, in a fixed order, and the names that were not found."""
    paths = sorted(glob.glob(os.path.join(MATE, "*.jpg")))
    missing = [] if paths else [MATE]
    for name in WALLPAPERS:
        folder = os.path.join(PLASMA, name, "contents", "images")
        files = sorted(glob.glob(os.path.join(folder, "*")))
        files = [f for f in files if os.path.isfile(f) and not os.path.islink(f)]
        if not files:
            missing.append(name)
            continue
        # Largest by bytes; ties broken by name for determinism.
        paths.append(max(files, key=lambda f: (os.path.getsize(f), f)))
    return paths, missing


def formats(count, rng):
    """count (format, quality, progressive) triples: 10% PNG, 10% WebP, the rest JPEG."""
    n_png = n_webp = max(1, round(count * 0.10))
    n_jpeg = count - n_png - n_webp
    n_prog = round(n_jpeg / 5)
    deal = ([("png", 0, False)] * n_png + [("webp", 80, False)] * n_webp +
            [("jpeg", rng.randint(80, 92), i < n_prog) for i in range(n_jpeg)])
    rng.shuffle(deal)
    return deal


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mkphotos.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    paths, missing = sources()
    if not paths:
        sys.exit("mkphotos: no source photos found (install mate-backgrounds and "
                 "plasma-workspace-wallpapers: bash ops/deps.sh --bench)")
    for name in missing:
        print(f"mkphotos: skipped {name} (not installed)", file=sys.stderr)
    # Web sizes only scale down: a side larger than the photo is left out.
    sides = []
    for src in paths:
        with Image.open(src) as im:
            sides.append([s for s in SIDES if s <= max(im.size)])
    rng = random.Random(SEED)
    deal = formats(sum(len(s) for s in sides), rng)
    listed, counts, k = [], {}, 0
    for idx, src in enumerate(paths):
        with Image.open(src) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            stem = os.path.splitext(os.path.basename(src))[0]
            if src.startswith(PLASMA):  # name the wallpaper, not its "2560x1600"
                stem = src[len(PLASMA) + 1:].split("/")[0]
            print(f"mkphotos: {idx:02d} {src} ({im.width}x{im.height})", file=sys.stderr)
            for side in sides[idx]:
                fmt, quality, progressive = deal[k]
                k += 1
                scale = side / max(im.width, im.height)
                size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                small = im.resize(size, Image.LANCZOS) if size != im.size else im.copy()
                ext = {"jpeg": "jpg", "png": "png", "webp": "webp"}[fmt]
                path = os.path.join(out, f"{idx:02d}-{stem}-{side}.{ext}")
                if fmt == "jpeg":
                    small.save(path, "JPEG", quality=quality, progressive=progressive,
                               optimize=progressive)
                elif fmt == "png":
                    small.save(path, "PNG")
                else:
                    small.save(path, "WEBP", quality=quality, method=4)
                key = fmt + (" progressive" if progressive else "")
                counts[key] = counts.get(key, 0) + 1
                listed.append(path)
    with open(os.path.join(out, "list.txt"), "w") as f:
        f.writelines(p + "\n" for p in listed)
    with open(os.path.join(out, "originals.txt"), "w") as f:
        f.writelines(p + "\n" for p in paths)
    total = sum(os.path.getsize(p) for p in listed)
    mix = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    print(f"mkphotos: {len(listed)} files from {len(paths)} photos ({mix}), "
          f"{total / 1e6:.1f} MB in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
