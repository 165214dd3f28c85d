#!/usr/bin/python3
"""Writes tests/ref/clip_tiny_ref.bin, the reference that tests/unit/test_model_ref.c holds the C
model (trainer/model.c) and optimizer (trainer/optim.c) to.

    /usr/bin/python3 tests/ref/gen_ref.py [OUT]      (needs python3-torch; about 15 s)

What it computes (see README.md here for the comparison and the tolerances):
  * the "tiny" config with vocab 1000 and context 77, batch B = 8;
  * parameters from a deterministic scheme that C repeats with common/rng.c: tensor NAME is
    filled from cc_rng_stream(SEED, fnv1a64(NAME), 0), element j = base + std · z_j where z_j is
    the stream's j-th cc_rng_normal and (base, std) per tensor are stored in the file
    (matrices: 0, 1/sqrt(fan-in); embeddings and biases: 0, 0.02; LN gains: 1, 0.1;
    logit_scale: ln(1/0.07), 0). All float32 arithmetic, as C does it;
  * images (B,3,64,64): the first B·3·64·64 cc_rng_normal of cc_rng_stream(SEED,
    fnv1a64("images"), 0), in order; the token rows are stored in the file;
  * forward + backward of torch_clip.ClipRef in float64 (the arbiter) and float32;
  * 10 steps of torch.optim.AdamW (decay only on clip_tensor.decay = 1 tensors, β 0.9/0.98,
    ε 1e-6, wd 0.2, lr = lr_at(step, 3, 10, 1e-3, 0), logit_scale clamped after each step) on the
    same batch, in float64 and float32, recording the loss before each step and after the last.

File format (little-endian), version 1:
  header, 256 bytes (zero padded):
    0 "CCRF"  4 u16 version  6 u16 header size (256)  8 char[32] config name
    40 i32[11] config (image_size, patch, vision_width, vision_layers, vision_heads, context,
       vocab, text_width, text_layers, text_heads, embed_dim)
    84 u32 B  88 u32 tensor count  92 u32 steps  96 u64 seed
    104 f64 loss (float64)  112 f64 loss (float32)
    120 f64 lr  128 u32 warmup  132 u32 total  136 f64 min_lr  144 f64 weight_decay
    152 f64 beta1  160 f64 beta2  168 f64 eps
    176 u32 n_check  180 f32[n_check] the first images (rng port check, bit-exact)
  then: i32 tokens[B·T]; f64 image_emb[B·E]; f64 text_emb[B·E] (float64 run);
        f64 step_loss64[steps+1]; f64 step_loss32[steps+1];
  then per tensor, in layout order:
    char[32] name; u32 ndim; u32 shape[4]; u32 count; u32 decay; f32 init_base; f32 init_std;
    f64 grad_norm64; f64 grad_norm32; u32 n; u32 pos[n]; f64 grad64[n]; f32 grad32[n]
  (n = count when count <= 256, else 256 sampled positions: 192 among the nonzero entries of the
  float64 gradient, 64 anywhere, in increasing order).
"""
import math
import os
import struct
import sys

import torch

sys.dont_write_bytecode = True  # no __pycache__ left in tests/ref

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ccrng  # noqa: E402
import torch_clip  # noqa: E402

SEED = 20261128
B = 8
VOCAB = 1000
CONTEXT = 77
STEPS = 10
LR, WARMUP, MIN_LR = 1e-3, 3, 0.0
WD, BETA1, BETA2, EPS = 0.2, 0.9, 0.98, 1e-6
NSAMP = 256
NCHECK = 8
HEADER_SIZE = 256


def f32(x):
    """x rounded to float32, as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def init_rule(name, shape, decay):
    """(base, std) of a tensor under the reference's scheme (floats, rounded to float32)."""
    if name == "logit_scale":
        return f32(math.log(1.0 / 0.07)), 0.0
    if "ln_" in name and name.endswith("_w"):
        return 1.0, f32(0.1)
    if decay:
        return 0.0, f32(1.0 / math.sqrt(shape[-1]))  # Linear (OC, C): fan-in C
    return 0.0, f32(0.02)  # biases, LN biases, embeddings


def normals32(seed, key, n):
    """The first n cc_rng_normal of cc_rng_stream(seed, key, 0), as a float32 tensor."""
    r = ccrng.Rng.stream(seed, key, 0)
    return torch.tensor([r.normal64() for _ in range(n)], dtype=torch.float64).to(torch.float32)


def make_params(cfg):
    """{name: float32 tensor} and {name: (base, std)} of the scheme."""
    vals, rules = {}, {}
    for name, shape, decay in torch_clip.tensor_table(cfg):
        base, std = init_rule(name, shape, decay)
        n = math.prod(shape)
        z = normals32(SEED, ccrng.fnv1a64(name), n)
        # base + std·z in float32, as C computes it
        v = torch.tensor(base, dtype=torch.float32) + torch.tensor(std, dtype=torch.float32) * z
        vals[name] = v.view(shape)
        rules[name] = (base, std)
    return vals, rules


def make_tokens(cfg):
    """B rows of T tokens: start-of-text (V-2), random tokens in [0, V-2), end-of-text (V-1),
    zero padding. Row 0 fills the context with its EOT last, row 1 has no EOT (the model takes
    position T-1), row 2 has two EOTs (the first counts), the others random lengths."""
    V, T = cfg["vocab"], cfg["context"]
    r = ccrng.Rng.stream(SEED, ccrng.fnv1a64("tokens"), 0)
    rows = []
    for b in range(B):
        if b == 0:
            n = T
        elif b == 1:
            n = T + 1  # no EOT
        else:
            n = 3 + r.below(T - 3)  # 3..T-1 tokens including SOT and EOT
        row = [V - 2] + [r.below(V - 2) for _ in range(T - 1)]
        if n <= T:
            row[n - 1] = V - 1
            row[n:] = [0] * (T - n)
        if b == 2:
            row[min(n, T) - 1] = V - 1
            row[1] = V - 1  # an earlier EOT: this one counts
        rows.append(row)
    return torch.tensor(rows, dtype=torch.int64)


def lr_at(step):
    """optim.h's lr_at (warm-up then cosine), rounded to float32 as the C function returns it."""
    if step < WARMUP:
        return f32(LR * (step + 1) / WARMUP)
    if step >= STEPS:
        return f32(MIN_LR)
    e, es = step - WARMUP, STEPS - WARMUP
    return f32(MIN_LR + 0.5 * (1.0 + math.cos(math.pi * e / es)) * (LR - MIN_LR))


def run(cfg, vals, images, tokens, dtype):
    """Loss, embeddings, per-tensor gradients, and the losses of the AdamW steps in dtype."""
    m = torch_clip.ClipRef(cfg, dtype)
    with torch.no_grad():
        for name, t in m.params.items():
            t.copy_(vals[name].to(dtype))
    loss, img, txt = m.forward(images.to(dtype), tokens)
    loss.backward()
    grads = {n: t.grad.detach().clone() for n, t in m.params.items()}
    out = dict(loss=loss.item(), img=img.detach().clone(), txt=txt.detach().clone(), grads=grads)

    dec, nodec = m.decay_groups()
    opt = torch.optim.AdamW([dict(params=dec, weight_decay=WD),
                             dict(params=nodec, weight_decay=0.0)],
                            lr=LR, betas=(BETA1, BETA2), eps=EPS)
    losses = []
    for step in range(STEPS + 1):
        for t in m.params.values():
            t.grad = None
        loss, _, _ = m.forward(images.to(dtype), tokens)
        losses.append(loss.item())
        if step == STEPS:
            break
        loss.backward()
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.step()
        m.clamp_logit_scale()
    out["losses"] = losses
    return out


def sample_positions(i, g64):
    """Deterministic positions of a tensor's gradient to store (all when small)."""
    flat = g64.reshape(-1)
    n = flat.numel()
    if n <= NSAMP:
        return list(range(n))
    r = ccrng.Rng.stream(SEED, ccrng.fnv1a64("samples"), i)
    nz = torch.nonzero(flat != 0).reshape(-1).tolist()
    chosen = set()
    want_nz = min(NSAMP * 3 // 4, len(nz))
    while len(chosen) < want_nz:
        chosen.add(nz[r.below(len(nz))])
    while len(chosen) < NSAMP:
        chosen.add(r.below(n))
    return sorted(chosen)


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "clip_tiny_ref.bin")
    torch.set_num_threads(1)
    cfg = torch_clip.config_by_name("tiny", VOCAB, CONTEXT)
    S = cfg["image_size"]
    vals, rules = make_params(cfg)
    images = normals32(SEED, ccrng.fnv1a64("images"), B * 3 * S * S).view(B, 3, S, S)
    tokens = make_tokens(cfg)

    r64 = run(cfg, vals, images, tokens, torch.float64)
    r32 = run(cfg, vals, images, tokens, torch.float32)

    table = torch_clip.tensor_table(cfg)
    h = bytearray(HEADER_SIZE)
    struct.pack_into("<4sHH32s", h, 0, b"CCRF", 1, HEADER_SIZE, cfg["name"].encode())
    struct.pack_into("<11i", h, 40, *[cfg[k] for k in torch_clip.CONFIG_KEYS])
    struct.pack_into("<IIIQ", h, 84, B, len(table), STEPS, SEED)
    struct.pack_into("<dd", h, 104, r64["loss"], r32["loss"])
    struct.pack_into("<dIIddddd", h, 120, LR, WARMUP, STEPS, MIN_LR, WD, BETA1, BETA2, EPS)
    struct.pack_into("<I%df" % NCHECK, h, 176, NCHECK, *images.reshape(-1)[:NCHECK].tolist())

    body = bytearray()
    body += struct.pack("<%di" % tokens.numel(), *tokens.reshape(-1).tolist())
    for t in (r64["img"], r64["txt"]):
        body += struct.pack("<%dd" % t.numel(), *t.reshape(-1).tolist())
    body += struct.pack("<%dd" % (STEPS + 1), *r64["losses"])
    body += struct.pack("<%dd" % (STEPS + 1), *r32["losses"])

    worst = []
    for i, (name, shape, decay) in enumerate(table):
        g64, g32 = r64["grads"][name], r32["grads"][name]
        n = g64.numel()
        shp = list(shape) + [0] * (4 - len(shape))
        base, std = rules[name]
        body += struct.pack("<32s7I2f", name.encode(), len(shape), *shp, n, decay, base, std)
        body += struct.pack("<dd", g64.norm().item(), g32.double().norm().item())
        pos = sample_positions(i, g64)
        f64 = g64.reshape(-1)[pos].tolist()
        f32v = g32.reshape(-1)[pos].tolist()
        body += struct.pack("<I", len(pos))
        body += struct.pack("<%dI" % len(pos), *pos)
        body += struct.pack("<%dd" % len(pos), *f64)
        body += struct.pack("<%df" % len(pos), *f32v)
        # float32 vs float64 deviation, relative to the tensor's gradient RMS
        rms = g64.norm().item() / math.sqrt(n)
        dev = (g32.double() - g64).abs().max().item() / rms if rms > 0 else 0.0
        worst.append((dev, name, g64.norm().item(), g32.double().norm().item()))

    with open(out_path, "wb") as f:
        f.write(h)
        f.write(body)

    print("wrote %s: %d bytes, %d tensors, %d parameters" % (
        out_path, HEADER_SIZE + len(body), len(table), sum(math.prod(s) for _, s, _ in table)))
    print("loss float64 %.10f float32 %.10f (rel %.2e)" % (
        r64["loss"], r32["loss"], abs(r32["loss"] - r64["loss"]) / r64["loss"]))
    for s in range(STEPS + 1):
        a, b = r64["losses"][s], r32["losses"][s]
        print("step %2d lr %.3e loss64 %.8f loss32 %.8f rel %.2e" % (
            s, lr_at(s) if s < STEPS else 0.0, a, b, abs(a - b) / a))
    print("embeddings max |f32-f64|: image %.2e text %.2e" % (
        (r32["img"].double() - r64["img"]).abs().max().item(),
        (r32["txt"].double() - r64["txt"]).abs().max().item()))
    worst.sort(reverse=True)
    for dev, name, n64, n32 in worst[:8]:
        print("%-16s max|g32-g64|/rms %.2e  norm64 %.6e norm32 rel %.2e" % (
            name, dev, n64, abs(n32 - n64) / n64 if n64 else 0.0))
    for name in ("t.wte", "t.wpe", "v.cls", "logit_scale"):
        print("%-16s norm64 %.6e" % (name, r64["grads"][name].norm().item()))


if __name__ == "__main__":
    main()
