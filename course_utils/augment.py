"""Data augmentation on the device: small random shifts and rotations of a whole batch at once.

A handwritten 7 moved two pixels or tilted ten degrees is still a 7, so showing the model such
variants is free extra data and one of chapter 06's remedies for overfitting. One affine matrix
per image, one `affine_grid` + `grid_sample` call for the batch: no per-image Python, and it runs
wherever the batch already is (CPU or GPU). Use it as fit(..., augment=random_shift_rotate).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_shift_rotate(x: torch.Tensor, max_shift: float = 2, max_degrees: float = 10,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to `max_shift` pixels and rotate it by up to `max_degrees`.

    x: float images (N, C, H, W) or (N, H, W). Empty borders are filled with 0 (black on MNIST).
    generator: a torch.Generator on x's device for repeatable draws; None uses torch's global one.
    """
    if not x.is_floating_point():
        raise TypeError(f"random_shift_rotate needs float images, got {x.dtype}; convert them first (transform=)")
    squeeze = x.ndim == 3
    if squeeze:
        x = x.unsqueeze(1)
    if x.ndim != 4:
        raise ValueError(f"expected images (N, C, H, W) or (N, H, W), got shape {tuple(x.shape)}")
    n, _, h, w = x.shape
    u = torch.rand(n, 3, device=x.device, generator=generator) * 2 - 1  # uniform in [-1, 1)
    angle = u[:, 0] * math.radians(max_degrees)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # affine_grid works in coordinates from -1 to 1, so a shift of s pixels is 2*s/width.
    dx, dy = u[:, 1] * (2 * max_shift / w), u[:, 2] * (2 * max_shift / h)
    theta = torch.stack([torch.stack([cos, -sin, dx], 1), torch.stack([sin, cos, dy], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.squeeze(1) if squeeze else out
