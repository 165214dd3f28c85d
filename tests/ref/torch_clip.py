"""A PyTorch reference of the CLIP model in trainer/model.h, parameter for parameter.

The parameters live in one ordered dict of tensors whose names, shapes and order are those of the
C layout (clip_model_tensor): Linear weights (OC, C), the patch convolution as (Cv, 3·p·p)
(PyTorch's Conv2d weight (Cv, 3, p, p) viewed flat), per-layer tensors stacked as (L, ...).
Nothing here is an nn.Module: forward() is a plain function of that dict, so a test or a benchmark
can fill the parameters from anywhere (the C model's init, a checkpoint, a random scheme) and
compare gradients tensor by tensor.

    cfg = config_by_name("tiny", vocab=1000, context=77)
    model = ClipRef(cfg, dtype=torch.float64)
    model.params["v.conv"].data.copy_(...)          # or model.load_flat(...)
    loss, img, txt = model.forward(images, tokens)  # images (B,3,S,S) float, tokens (B,T) int64
    loss.backward(); model.params["t.wte"].grad ...

Used by gen_ref.py (the reference file of tests/unit/test_model_ref.c); needs python3-torch.
"""
import math
from collections import OrderedDict

import torch
import torch.nn.functional as F

LAYERNORM_EPS = 1e-5

# The named configurations of clip_config_by_name (trainer/model.c); vocab and context come from
# the tokenizer.
CONFIGS = {
    "tiny": dict(image_size=64, patch=8, vision_width=192, vision_layers=4, vision_heads=3,
                 text_width=128, text_layers=4, text_heads=2, embed_dim=128),
    "small": dict(image_size=128, patch=16, vision_width=384, vision_layers=6, vision_heads=6,
                  text_width=256, text_layers=6, text_heads=4, embed_dim=256),
    "base32": dict(image_size=224, patch=32, vision_width=768, vision_layers=12, vision_heads=12,
                   text_width=512, text_layers=12, text_heads=8, embed_dim=512),
}

CONFIG_KEYS = ("image_size", "patch", "vision_width", "vision_layers", "vision_heads", "context",
               "vocab", "text_width", "text_layers", "text_heads", "embed_dim")


def config_by_name(name, vocab, context):
    """The config dict of a named configuration (keys CONFIG_KEYS plus "name")."""
    cfg = dict(CONFIGS[name])
    cfg.update(name=name, vocab=vocab, context=context)
    return cfg


def _block_tensors(prefix, L, C):
    """The stacked tensors of L pre-LN blocks of width C: (name, shape, decay)."""
    return [
        (prefix + "ln_1_w", (L, C), 0),
        (prefix + "ln_1_b", (L, C), 0),
        (prefix + "qkv_w", (L, 3 * C, C), 1),
        (prefix + "qkv_b", (L, 3 * C), 0),
        (prefix + "attn_proj_w", (L, C, C), 1),
        (prefix + "attn_proj_b", (L, C), 0),
        (prefix + "ln_2_w", (L, C), 0),
        (prefix + "ln_2_b", (L, C), 0),
        (prefix + "fc_w", (L, 4 * C, C), 1),
        (prefix + "fc_b", (L, 4 * C), 0),
        (prefix + "fc_proj_w", (L, C, 4 * C), 1),
        (prefix + "fc_proj_b", (L, C), 0),
    ]


def tensor_table(cfg):
    """The parameter layout in the C order: a list of (name, shape, decay), decay as clip_tensor's
    (1 for the matrices of Linear/conv/projections; 0 for LN gains and biases, biases,
    embeddings and logit_scale)."""
    p, Cv, Ct = cfg["patch"], cfg["vision_width"], cfg["text_width"]
    P = (cfg["image_size"] // p) ** 2
    E, V, T = cfg["embed_dim"], cfg["vocab"], cfg["context"]
    t = [
        ("v.conv", (Cv, 3 * p * p), 1),
        ("v.cls", (Cv,), 0),
        ("v.pos", (1 + P, Cv), 0),
        ("v.ln_pre_w", (Cv,), 0),
        ("v.ln_pre_b", (Cv,), 0),
    ]
    t += _block_tensors("v.", cfg["vision_layers"], Cv)
    t += [
        ("v.ln_post_w", (Cv,), 0),
        ("v.ln_post_b", (Cv,), 0),
        ("v_proj", (E, Cv), 1),
        ("t.wte", (V, Ct), 0),
        ("t.wpe", (T, Ct), 0),
    ]
    t += _block_tensors("t.", cfg["text_layers"], Ct)
    t += [
        ("t.ln_final_w", (Ct,), 0),
        ("t.ln_final_b", (Ct,), 0),
        ("t_proj", (E, Ct), 1),
        ("logit_scale", (1,), 0),
    ]
    return t


def quickgelu(x):
    """CLIP's QuickGELU: x · sigmoid(1.702 x)."""
    return x * torch.sigmoid(1.702 * x)


def eot_positions(tokens, vocab):
    """The first position of the end-of-text token (vocab - 1) in each row, T - 1 when none."""
    B, T = tokens.shape
    is_eot = tokens == vocab - 1
    first = torch.argmax(is_eot.to(torch.int64), dim=1)  # first maximum: the first EOT
    return torch.where(is_eot.any(dim=1), first, torch.full_like(first, T - 1))


class ClipRef:
    """The model of trainer/model.h over a dict of named parameter tensors (see the module doc)."""

    def __init__(self, cfg, dtype=torch.float32):
        self.cfg = dict(cfg)
        self.dtype = dtype
        self.table = tensor_table(cfg)
        self.params = OrderedDict()
        for name, shape, _ in self.table:
            self.params[name] = torch.zeros(shape, dtype=dtype, requires_grad=True)

    def num_params(self):
        return sum(t.numel() for t in self.params.values())

    def load_flat(self, flat):
        """Copies a flat vector (the C parameter block, in layout order) into the tensors."""
        off = 0
        with torch.no_grad():
            for name, t in self.params.items():
                n = t.numel()
                t.copy_(flat[off:off + n].view(t.shape).to(self.dtype))
                off += n
        assert off == flat.numel(), "flat vector does not match the layout"

    def flat_grads(self):
        """The gradients as one flat vector in layout order (zeros where none)."""
        return torch.cat([(t.grad if t.grad is not None else torch.zeros_like(t)).reshape(-1)
                          for t in self.params.values()])

    def decay_groups(self):
        """(decayed, not decayed) parameter lists, for torch.optim.AdamW's param groups."""
        d = [self.params[n] for n, _, dec in self.table if dec]
        nd = [self.params[n] for n, _, dec in self.table if not dec]
        return d, nd

    def _blocks(self, x, prefix, L, NH, causal):
        """L pre-LN blocks over x (B,T,C)."""
        P = self.params
        B, T, C = x.shape
        hd = C // NH
        mask = None
        if causal:
            mask = torch.full((T, T), float("-inf"), dtype=x.dtype).triu(1)
        for l in range(L):
            h = F.layer_norm(x, (C,), P[prefix + "ln_1_w"][l], P[prefix + "ln_1_b"][l],
                             LAYERNORM_EPS)
            qkv = h @ P[prefix + "qkv_w"][l].t() + P[prefix + "qkv_b"][l]  # (B,T,3C)
            q, k, v = qkv.split(C, dim=2)
            q = q.view(B, T, NH, hd).transpose(1, 2)  # (B,NH,T,hd)
            k = k.view(B, T, NH, hd).transpose(1, 2)
            v = v.view(B, T, NH, hd).transpose(1, 2)
            s = (q @ k.transpose(2, 3)) * (1.0 / math.sqrt(hd))  # (B,NH,T,T)
            if mask is not None:
                s = s + mask
            a = torch.softmax(s, dim=-1) @ v  # (B,NH,T,hd)
            a = a.transpose(1, 2).reshape(B, T, C)
            x = x + a @ P[prefix + "attn_proj_w"][l].t() + P[prefix + "attn_proj_b"][l]
            h = F.layer_norm(x, (C,), P[prefix + "ln_2_w"][l], P[prefix + "ln_2_b"][l],
                             LAYERNORM_EPS)
            h = quickgelu(h @ P[prefix + "fc_w"][l].t() + P[prefix + "fc_b"][l])
            x = x + h @ P[prefix + "fc_proj_w"][l].t() + P[prefix + "fc_proj_b"][l]
        return x

    def encode_image(self, images):
        """L2-normalized image embeddings (B,E) of images (B,3,S,S)."""
        c, P = self.cfg, self.params
        p, Cv = c["patch"], c["vision_width"]
        B = images.shape[0]
        w = P["v.conv"].view(Cv, 3, p, p)
        x = F.conv2d(images.to(self.dtype), w, stride=p)  # (B,Cv,S/p,S/p)
        x = x.flatten(2).transpose(1, 2)  # (B,P,Cv), patches in raster order
        x = torch.cat([P["v.cls"].view(1, 1, Cv).expand(B, 1, Cv), x], dim=1) + P["v.pos"]
        x = F.layer_norm(x, (Cv,), P["v.ln_pre_w"], P["v.ln_pre_b"], LAYERNORM_EPS)
        x = self._blocks(x, "v.", c["vision_layers"], c["vision_heads"], causal=False)
        x = F.layer_norm(x[:, 0, :], (Cv,), P["v.ln_post_w"], P["v.ln_post_b"], LAYERNORM_EPS)
        return F.normalize(x @ P["v_proj"].t(), dim=-1, eps=1e-12)

    def encode_text(self, tokens):
        """L2-normalized text embeddings (B,E) of tokens (B,T), int64."""
        c, P = self.cfg, self.params
        Ct = c["text_width"]
        B, T = tokens.shape
        x = P["t.wte"][tokens] + P["t.wpe"][:T]
        x = self._blocks(x, "t.", c["text_layers"], c["text_heads"], causal=True)
        x = F.layer_norm(x, (Ct,), P["t.ln_final_w"], P["t.ln_final_b"], LAYERNORM_EPS)
        x = x[torch.arange(B), eot_positions(tokens, c["vocab"])]
        return F.normalize(x @ P["t_proj"].t(), dim=-1, eps=1e-12)

    def forward(self, images, tokens):
        """(loss, image embeddings, text embeddings): CLIP's symmetric cross-entropy over
        exp(logit_scale) · img @ txt^T."""
        img = self.encode_image(images)
        txt = self.encode_text(tokens)
        logits = torch.exp(self.params["logit_scale"][0]) * (img @ txt.t())
        labels = torch.arange(img.shape[0])
        loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))
        return loss, img, txt

    def clamp_logit_scale(self):
        """What the C optimizer does after each step: logit_scale into [0, ln 100]."""
        with torch.no_grad():
            self.params["logit_scale"].clamp_(0.0, math.log(100.0))


def build(cfg, dtype=torch.float32):
    """A ClipRef of a config dict (see config_by_name), parameters zero."""
    return ClipRef(cfg, dtype)
