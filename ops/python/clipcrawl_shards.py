"""Read clipcrawl shards from Python: the executable twin of docs/FORMAT.md.

Needs the `lmdb` and `zstandard` modules (Debian: python3-lmdb, python3-zstandard). Checksums
(XXH3-64 of each record, XXH3-128 of each shard file) are verified with the `xxhash` module
(python3-xxhash) and skipped without it (`HAVE_XXHASH` tells whether they are). Everything
else is always checked: magics, versions, lengths.
Malformed data raises ValueError with the reason.

    import clipcrawl_shards as cs
    for rec in cs.iter_dataset("out/"):          # every pair of every sealed shard
        print(rec["key"], rec["caption"], len(rec["image"]))
    shard = cs.open_shard("out/shard-000000.lmdb")
    rec = shard[3]                               # dict: the JSON fields + "image" (bytes)

Command line: `python3 clipcrawl_shards.py DIR|MANIFEST|SHARD` prints one JSON object per record,
byte-for-byte what `clipcrawl shards dump` prints.
"""
import json
import os
import struct
import sys

import lmdb
import zstandard

MANIFEST_NAME = "manifest.tsv"
MANIFEST_MAGIC = "# clipcrawl manifest 1"
SHARD_FORMAT = b"clipcrawl-shard 1"
RECORD_MAGIC = b"CCR1"
RECORD_HEADER = struct.Struct("<4sHHQBBHIII")  # 32 bytes, see FORMAT.md "Record value"
META_FIXED = struct.Struct("<16s16sQqIIIIII")  # 72 bytes, see FORMAT.md "Metadata block"
NO_QUERY = 0xFFFFFFFF
MAX_META = 4 * 65536 + 4 * 4096 + 256  # SHARD_MAX_META: bound on a decompressed metadata block
IMAGE_EXT = {1: "jpg", 2: "png", 3: "webp"}  # anything else: "bin"


def _load_xxhash():
    """(xxh3_64(bytes) -> int, new_xxh3_128() -> object with update()/hexdigest()) or None."""
    try:
        import xxhash
    except ImportError:
        return None
    return xxhash.xxh3_64_intdigest, xxhash.xxh3_128


_XXH = _load_xxhash()
HAVE_XXHASH = _XXH is not None


def xxh3_128_hex(data):
    """XXH3-128 of data as 32 hex digits (a record's content_hash, a manifest checksum)."""
    h = _XXH[1]()
    h.update(data)
    return h.hexdigest()


def load_manifest(path_or_dir):
    """Sealed shards of a run, in order: a list of dicts with name, path, count, bytes,
    xxh3_128 (32 hex digits) and sealed_at. A last line without its newline is a torn append
    and is ignored."""
    path = path_or_dir
    if os.path.isdir(path):
        path = os.path.join(path, MANIFEST_NAME)
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    if "\n" not in text and MANIFEST_MAGIC.startswith(text):
        return []  # empty, or the first append torn mid-header: nothing sealed
    lines = text.split("\n")
    if len(lines) == 1 or lines[0] != MANIFEST_MAGIC:
        raise ValueError(f"{path}: first line is {lines[0][:60]!r}, expected {MANIFEST_MAGIC!r}")
    lines = lines[:-1]  # the text after the last newline: "" or a torn append
    entries = []
    for lineno, line in enumerate(lines[1:], 2):
        if line == "" or line.startswith("#"):
            continue
        f = line.split("\t")
        ok = len(f) == 5 and f[0].startswith("shard-") and f[0].endswith(".lmdb")
        ok = ok and f[0][6:-5].isdigit() and len(f[3]) == 32
        ok = ok and all(x.isdigit() for x in (f[1], f[2], f[4]))
        if not ok:
            raise ValueError(f"{path}:{lineno}: malformed manifest line")
        entries.append(
            {
                "name": f[0],
                "path": os.path.join(os.path.dirname(path), f[0]),
                "count": int(f[1]),
                "bytes": int(f[2]),
                "xxh3_128": f[3].lower(),
                "sealed_at": int(f[4]),
            }
        )
    return entries


def check_file(entry):
    """Raises ValueError unless the shard file has the size and XXH3-128 the manifest lists.
    Without an XXH3 implementation only the size is checked."""
    size = os.path.getsize(entry["path"])
    if size != entry["bytes"]:
        raise ValueError(f"{entry['name']}: {size} bytes, the manifest says {entry['bytes']}")
    if not HAVE_XXHASH:
        return
    h = _XXH[1]()
    with open(entry["path"], "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if h.hexdigest() != entry["xxh3_128"]:
        raise ValueError(f"{entry['name']}: checksum mismatch (file changed since sealing)")


def decode_record(val, dict_dctx=None):
    """One record value (the bytes under a `rec` key) as a dict: the JSON fields of
    `clipcrawl shards dump` in their order, with phash as an int, plus "image" (bytes).
    dict_dctx: a zstandard.ZstdDecompressor made with the shard's meta/zdict, if it has one."""
    val = bytes(val)
    if len(val) < RECORD_HEADER.size or val[:4] != RECORD_MAGIC:
        raise ValueError("not a clipcrawl record (bad magic)")
    _, ver, hsize, csum, codec, fmt, _, mlen, rawlen, ilen = RECORD_HEADER.unpack_from(val)
    if ver != 1:
        raise ValueError(f"record version {ver} is not supported (this reader knows 1)")
    if HAVE_XXHASH and _XXH[0](val[16:]) != csum:  # covers everything after the checksum
        raise ValueError("record checksum mismatch (damaged value)")
    if hsize < RECORD_HEADER.size or hsize + mlen + ilen != len(val):
        raise ValueError("record lengths do not add up to its size")
    if rawlen > MAX_META:
        raise ValueError(f"record metadata of {rawlen} bytes exceeds the format's {MAX_META}")
    meta = val[hsize : hsize + mlen]
    if codec in (1, 2):  # zstd frame, without or with the shard's dictionary
        dctx = zstandard.ZstdDecompressor() if codec == 1 else dict_dctx
        if dctx is None:
            raise ValueError("record needs the shard's zstd dictionary, which is missing")
        try:  # the frame must declare the size the header gives (bounded by MAX_META)
            if zstandard.frame_content_size(meta) != rawlen:
                raise ValueError("record metadata frame size differs from the header's")
            meta = dctx.decompress(meta, max_output_size=rawlen)
        except zstandard.ZstdError as e:
            raise ValueError(f"record metadata: zstd: {e}") from None
    elif codec != 0:  # 0: stored raw
        raise ValueError(f"record metadata codec {codec} is unknown")
    if len(meta) != rawlen or rawlen < META_FIXED.size:
        raise ValueError("record metadata has the wrong length")

    uid, chash, phash, ftime, w, h, ow, oh, qid, nq = META_FIXED.unpack_from(meta)
    off = META_FIXED.size + 4 * nq
    if nq > 4096 or off > len(meta):  # SHARD_MAX_QUERY_IDS
        raise ValueError(f"record query id count {nq} out of bounds")
    qids = list(struct.unpack_from(f"<{nq}I", meta, META_FIXED.size))
    strings = []
    for _ in range(4):  # caption, url, page_url, license
        if off + 4 > len(meta):
            raise ValueError("record metadata truncated")
        (n,) = struct.unpack_from("<I", meta, off)
        raw = meta[off + 4 : off + 4 + n]
        if len(raw) != n or b"\0" in raw:
            raise ValueError("record string runs past the metadata or holds a NUL")
        strings.append(raw.decode("utf-8", "replace"))
        off += 4 + n
    if off != len(meta):
        raise ValueError("record metadata has trailing bytes")
    image = val[hsize + mlen :]
    return {
        "key": uid.hex(),
        "caption": strings[0],
        "url": strings[1],
        "page_url": strings[2],
        "license": strings[3],
        "query_id": None if qid == NO_QUERY else qid,
        "query_ids": qids,
        "format": IMAGE_EXT.get(fmt, "bin"),
        "image_bytes": len(image),
        "width": w,
        "height": h,
        "orig_width": ow,
        "orig_height": oh,
        "content_hash": chash.hex(),
        "phash": phash,
        "fetch_time_ms": ftime,
        "image": image,
    }


def to_json(rec):
    """The line `clipcrawl shards dump` prints for rec (without the newline)."""
    obj = {k: v for k, v in rec.items() if k != "image"}
    obj["phash"] = f"{rec['phash']:016x}"
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class Shard:
    """A sealed shard: len(), shard[i] (0 <= i < len), iteration, find(uid_hex)."""

    def __init__(self, path):
        self.path = path
        self.env = lmdb.open(path, subdir=False, readonly=True, lock=False, max_dbs=3)
        self._meta = self.env.open_db(b"meta", create=False)
        self._rec = self.env.open_db(b"rec", create=False)
        self._uid = self.env.open_db(b"uid", create=False)
        with self.env.begin() as txn:
            fmt = txn.get(b"format", db=self._meta)
            if fmt != SHARD_FORMAT:
                raise ValueError(f"{path}: format is {fmt!r}, expected {SHARD_FORMAT!r}")
            zdict = txn.get(b"zdict", db=self._meta)
            self._count = txn.stat(self._rec)["entries"]
        self._dict_dctx = None
        if zdict is not None:
            d = zstandard.ZstdCompressionDict(zdict)
            self._dict_dctx = zstandard.ZstdDecompressor(dict_data=d)

    def __len__(self):
        return self._count

    def __getitem__(self, i):
        if not 0 <= i < self._count:
            raise IndexError(f"{self.path}: record {i} out of range 0..{self._count - 1}")
        with self.env.begin(buffers=False) as txn:
            val = txn.get(struct.pack(">Q", i), db=self._rec)
        if val is None:
            raise ValueError(f"{self.path}: record {i} is missing (indexes must be dense)")
        try:
            return decode_record(val, self._dict_dctx)
        except ValueError as e:
            raise ValueError(f"{self.path}: record {i}: {e}") from None

    def __iter__(self):
        return (self[i] for i in range(self._count))

    def find(self, uid_hex):
        """Index of the record with this uid (32 hex digits), or None."""
        with self.env.begin() as txn:
            v = txn.get(bytes.fromhex(uid_hex), db=self._uid)
        return None if v is None else struct.unpack(">Q", v)[0]

    def close(self):
        self.env.close()


def open_shard(path, entry=None):
    """Opens a shard file. With its manifest entry, the size and checksum are checked first."""
    if entry is not None:
        check_file(entry)
    shard = Shard(path)
    if entry is not None and len(shard) != entry["count"]:
        raise ValueError(f"{path}: {len(shard)} records, the manifest says {entry['count']}")
    return shard


def iter_dataset(path_or_dir):
    """Every record of every sealed shard listed in the manifest, in order."""
    for entry in load_manifest(path_or_dir):
        shard = open_shard(entry["path"], entry)
        try:
            yield from shard
        finally:
            shard.close()


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: clipcrawl_shards.py DIR|MANIFEST|SHARD.lmdb")
    target = argv[1]
    out = sys.stdout.buffer
    try:
        # A single shard file is trusted as it is: there is no manifest line to check it against.
        records = iter(open_shard(target)) if target.endswith(".lmdb") else iter_dataset(target)
        for rec in records:
            out.write(to_json(rec).encode("utf-8") + b"\n")
    except (ValueError, OSError, lmdb.Error) as e:
        sys.exit(f"clipcrawl_shards.py: {e}")


if __name__ == "__main__":
    main(sys.argv)
