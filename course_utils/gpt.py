"""A small GPT (chapter 07): chapter 03's causal attention grown into a decoder-only language model.

    tokens -> token embedding + position embedding
           -> n_layer x [x + Attention(LayerNorm(x)); x + MLP(LayerNorm(x))]     (pre-norm blocks)
           -> LayerNorm -> logits = h @ E^T                                      (tied output layer)

Why these choices: pre-norm blocks (the LayerNorm before each sub-layer, as in GPT-2) train stably
without a warm-up trick; tying the output layer to the token embedding saves V*d parameters, the
largest single matrix of a small model; the causal mask (chapter 03, section 4) lets one sequence of
T tokens give T next-token training examples at once. `GPTClassifier` puts a one-logit head on the
same body for fine-tuning. The layout follows karpathy/nanoGPT, readable top to bottom.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 4096
    block_size: int = 128  # the longest context the model can read (position embeddings)
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    dropout: float = 0.0

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "d_model"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GPTConfig.{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"d_model={self.d_model} must be divisible by n_head={self.n_head} "
                             f"(each head gets d_model / n_head dimensions); change one of them")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def n_params_formula(cfg: GPTConfig) -> int:
    """Parameters by formula: V*d + T*d (embeddings; the output layer is tied, so no more)
    + n_layer * (12 d^2 + 13 d) (per block: Q, K, V, output projections 4(d^2 + d), MLP d -> 4d -> d
    8 d^2 + 5 d, two LayerNorms 4 d) + 2 d (the final LayerNorm)."""
    d = cfg.d_model
    return cfg.vocab_size * d + cfg.block_size * d + cfg.n_layer * (12 * d * d + 13 * d) + 2 * d


def flops_per_token(cfg: GPTConfig, with_head: bool = True) -> int:
    """Forward multiply-adds x 2 per token: 2 N_matmul + the attention scores (2 * 2 * T * d per layer,
    the causal half counted in full, as C = 6 N D does not count it at all)."""
    d = cfg.d_model
    n = cfg.n_layer * 12 * d * d + (cfg.vocab_size * d if with_head else 0)
    return 2 * n + cfg.n_layer * 4 * cfg.block_size * d


class CausalSelfAttention(nn.Module):
    """Multi-head attention of chapter 03 with the causal mask: token t sees tokens 0..t only."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)  # W_Q, W_K, W_V side by side
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)  # W_O

    def forward(self, x):  # x: (B, T, d)
        B, T, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        q, k, v = (z.view(B, T, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))  # (B, h, T, d_k)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, d))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.up = nn.Linear(cfg.d_model, 4 * cfg.d_model)
        self.down = nn.Linear(4 * cfg.d_model, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):
        return self.drop(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    """Pre-norm Transformer block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(cfg.d_model), CausalSelfAttention(cfg)
        self.ln2, self.mlp = nn.LayerNorm(cfg.d_model), MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, vocab_size)."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scale the residual projections by 1/sqrt(2 n_layer)
            if name.endswith(("proj.weight", "down.weight")):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)  # small weights: a fresh model has no opinion (loss ~ ln V)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def hidden(self, idx):
        """The last block's normalised outputs, (B, T, d): what the LM head and the classifier read."""
        T = idx.shape[1]
        if T > self.cfg.block_size:
            raise ValueError(f"a sequence of {T} tokens is longer than the model's context "
                             f"block_size={self.cfg.block_size}; cut it (keep the last {self.cfg.block_size})")
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.tok_emb(idx) + self.pos_emb(pos))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x)

    def forward(self, idx):
        return self.hidden(idx) @ self.tok_emb.weight.T  # tied: the output layer is the embedding, transposed

    @torch.no_grad()
    def generate(self, idx, n_new: int, *, temperature: float = 1.0, top_k: int | None = None,
                 generator: torch.Generator | None = None):
        """Append n_new sampled tokens to idx (B, T0). temperature < 1 sharpens the distribution,
        > 1 flattens it; top_k keeps only the k most likely tokens before sampling."""
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if top_k is not None and not 1 <= top_k <= self.cfg.vocab_size:
            raise ValueError(f"top_k must lie in 1..{self.cfg.vocab_size} or be None, got {top_k!r}")
        was_training = self.training
        self.eval()
        try:
            for _ in range(n_new):
                logits = self(idx[:, -self.cfg.block_size:])[:, -1, :].float() / temperature
                if top_k is not None:
                    kth = torch.topk(logits, top_k).values[:, -1:]
                    logits = logits.masked_fill(logits < kth, float("-inf"))
                nxt = torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)
                idx = torch.cat([idx, nxt.to(idx.dtype)], dim=1)
        finally:
            self.train(was_training)
        return idx


def lm_loss(logits, targets):
    """Mean next-token cross-entropy over every position; targets (B, T) of token ids."""
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1).long())


class GPTClassifier(nn.Module):
    """The GPT body plus one logit per review: the mean of the last hidden states over the real
    tokens (id != pad_id; padding comes after each review, so causality keeps it from touching the
    real tokens' states) -> Linear(d, 1). The LM head is not used, which makes fine-tuning cheaper
    than pretraining per token."""

    def __init__(self, gpt: GPT, pad_id: int = 0, dropout: float = 0.1):
        super().__init__()
        self.gpt, self.pad_id = gpt, pad_id
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(gpt.cfg.d_model, 1)

    def forward(self, idx):
        h = self.gpt.hidden(idx)  # (B, T, d)
        real = (idx != self.pad_id).unsqueeze(-1).to(h.dtype)
        pooled = (h * real).sum(1) / real.sum(1).clamp(min=1)
        return self.head(self.drop(pooled)).squeeze(-1)


# ---- will it fit? -------------------------------------------------------------------------------

def training_bytes(cfg: GPTConfig, batch_size: int, seq_len: int | None = None, *, lm_head: bool = True) -> int:
    """A rough upper estimate of the memory one training step needs, in bytes (float32):
    weights, gradients and Adam's two moments (4 copies of N), plus the activations autograd keeps
    (about 20 d floats per token per layer with 2 h T attention weights, and the logits with their
    softmax and gradient, 3 V floats per token, when the LM head is used)."""
    T = seq_len or cfg.block_size
    tokens = batch_size * T
    per_layer = 20 * cfg.d_model + 2 * cfg.n_head * T
    acts = tokens * (cfg.n_layer * per_layer + 4 * cfg.d_model + (3 * cfg.vocab_size if lm_head else 0))
    return 4 * (4 * n_params_formula(cfg) + acts)


def available_bytes(device) -> int:
    """Memory free for a new allocation on `device` (GPU: free device memory; CPU: available RAM)."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        import psutil  # present wherever Jupyter is (ipykernel needs it), but not a course dependency
    except ImportError:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # free RAM (Linux, macOS)
    return int(psutil.virtual_memory().available)


def check_fits(cfg: GPTConfig, batch_size: int, device, seq_len: int | None = None, *, lm_head: bool = True,
               share: float = 0.8) -> int:
    """Refuse, before allocating anything, a model/batch/context whose estimated training memory
    exceeds `share` of what `device` has free; returns the estimate in bytes."""
    need = training_bytes(cfg, batch_size, seq_len, lm_head=lm_head)
    have = available_bytes(device)
    if need > share * have:
        raise MemoryError(
            f"training this model needs about {need / 2**30:.1f} GiB (d_model={cfg.d_model}, n_layer={cfg.n_layer}, "
            f"vocab_size={cfg.vocab_size}, context {seq_len or cfg.block_size}, batch {batch_size}), but only "
            f"{have / 2**30:.1f} GiB is free on {torch.device(device)}; lower batch_size, the context or d_model")
    return need
