"""Models that more than one chapter trains, kept here so that later chapters reuse them, not copy them.

ReviewLSTM is chapter 05's sentiment model (built and explained there); chapter 07 trains it again
as the baseline that a pretrained Transformer must beat at every label budget.
"""

from __future__ import annotations

import torch
from torch import nn


class ReviewLSTM(nn.Module):
    """Embedding(vocab, 128) -> LSTM(128) -> Linear(1), reading only the real tokens of each review.

    Input: (batch, maxlen) token ids, 0 after each review (padding kept at the end). Output: one logit
    per review. pool="meanmax" concatenates the mean and the maximum of the LSTM's outputs over the
    real tokens; pool="last" keeps only the output at the last real token. `groups`: the batch is
    sorted by length and run in that many groups, each cut to its longest review (length bucketing).
    """

    def __init__(self, vocab_size=20_000, embed_dim=128, hidden=128, pool="meanmax", groups=4):
        super().__init__()
        self.pool, self.groups = pool, groups
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True)
        self.head = nn.Linear(2 * hidden if pool == "meanmax" else hidden, 1)

    def encode(self, ids, n):                                # ids: (b, T) with T = the longest review here
        out, _ = self.lstm(self.embedding(ids))              # (b, T, hidden)
        if self.pool == "last":
            return out[torch.arange(len(ids), device=ids.device), n - 1]
        real = (torch.arange(ids.shape[1], device=ids.device)[None, :] < n[:, None]).unsqueeze(-1)
        mean = (out * real).sum(1) / n[:, None]
        top = out.masked_fill(~real, float("-inf")).max(1).values
        return torch.cat([mean, top], 1)

    def forward(self, ids):                                  # ids: (batch, maxlen), 0 after each review
        n = (ids != 0).sum(1).clamp(min=1)                   # real tokens per review
        order = n.argsort()                                  # length bucketing inside the batch
        parts = [self.encode(ids[g, : int(n[g].max())], n[g]) for g in order.chunk(self.groups)]
        z = torch.cat(parts)[order.argsort()]                # back to the batch's order
        return self.head(z).squeeze(-1)                      # a logit per review
