#!/usr/bin/python3
"""bench/train_torch.py — the peer of bench_train: the same CLIP model (tests/ref/torch_clip.py,
the PyTorch reference of trainer/model.h) trained on the same synthetic batch shapes with
torch.optim.AdamW, on the CPU, with the same thread count. Prints one JSON object.

Usage: bench/train_torch.py --model NAME --batch N --steps N --threads N [--vocab N] [--context N]
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import torch_clip  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--context", type=int, default=77)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(7)
    cfg = torch_clip.config_by_name(a.model, a.vocab, a.context)
    m = torch_clip.build(cfg)
    with torch.no_grad():
        for name, shape, _ in m.table:
            t = m.params[name]
            if name.endswith("_w") and "ln" in name:
                t.fill_(1.0)
            elif name == "logit_scale":
                t.fill_(math.log(1 / 0.07))
            else:
                fan = shape[-1] if len(shape) > 1 else 1
                t.normal_(0.0, 1.0 / math.sqrt(fan) if len(shape) > 1 else 0.02)
    decay, no_decay = m.decay_groups()
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.2},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.98), eps=1e-6)
    B, S, T, V = a.batch, cfg["image_size"], a.context, a.vocab
    images = torch.randn(B, 3, S, S)
    tokens = torch.zeros(B, T, dtype=torch.int64)
    g = torch.Generator().manual_seed(7)
    for b in range(B):
        n = 5 + int(torch.randint(0, T - 6, (1,), generator=g))
        tokens[b, 0] = V - 2
        tokens[b, 1:n] = torch.randint(0, V - 2, (n - 1,), generator=g)
        tokens[b, n] = V - 1
    times = []
    loss = None
    for s in range(a.steps + 1):  # step 0 warms up
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss, _, _ = m.forward(images, tokens)
        loss.backward()
        opt.step()
        m.clamp_logit_scale()
        if s:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    print(json.dumps({"model": a.model, "params": m.num_params(), "batch": B, "threads": a.threads,
                      "steps": a.steps, "loss": float(loss), "step_ms": 1e3 * step,
                      "samples_per_s": B / step, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
