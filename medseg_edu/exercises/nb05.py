"""Checkers for notebook 05 (fully convolutional network)."""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, exercise, require_equal


@exercise("05.pooled_size")
def _pooled_size(pooled_size):
    for size, k in ((96, 3, ), (96, 0), (33, 2), (100, 3), (7, 1), (96, 5)):
        expected = size
        for _ in range(k):
            expected //= 2
        halved = size / 2 ** k
        require_equal(pooled_size(size, k), expected, f"{size} pixels after {k} poolings", hints=[
            (lambda got: np.isclose(float(got), halved) and expected != halved,
             "a 2x2 pooling drops an odd last row: round down after EVERY pooling")])
    return "96 -> 48 -> 24 -> 12: after three poolings each score stands for an 8 x 8 pixel block."


@exercise("05.upsample")
def _upsample(upsample):
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(5)
    for shape, factor in (((12, 12), 8), ((6, 10), 4), ((3, 3), 2)):
        coarse = rng.random(shape).astype(np.float32)
        expected = F.interpolate(torch.from_numpy(coarse)[None, None], scale_factor=factor,
                                 mode="bilinear", align_corners=False)[0, 0].numpy()
        got = upsample(coarse, factor)
        if isinstance(got, torch.Tensor):
            got = got.detach().cpu().numpy()
        got = np.asarray(got)
        if got.shape != expected.shape:
            raise ExerciseFailed(f"a {shape} map upsampled by {factor} should be {expected.shape} "
                                 f"(a 2D array), yours is {got.shape}")
        nearest = np.kron(coarse, np.ones((factor, factor), np.float32))
        if np.allclose(got, nearest):
            raise ExerciseFailed("that is nearest-neighbour upsampling (blocks); use mode='bilinear'")
        if not np.allclose(got, expected, atol=1e-5):
            raise ExerciseFailed("values differ from bilinear interpolation with "
                                 "align_corners=False (the setting the FCN uses)")
    return "a smooth map, but no sharper than the 12 x 12 scores it came from."


@exercise("05.fuse_skip")
def _fuse_skip(fuse_skip):
    import torch

    from ..nets import fuse_skip_scores

    generator = torch.Generator().manual_seed(55)
    for n, c, h, w in ((1, 2, 3, 3), (2, 2, 6, 4), (1, 3, 12, 12)):
        coarse = torch.randn(n, c, h, w, generator=generator)
        skip = torch.randn(n, c, 2 * h, 2 * w, generator=generator)
        expected = fuse_skip_scores(coarse, skip)
        got = fuse_skip(coarse.clone(), skip.clone())
        got = torch.as_tensor(np.asarray(got.detach() if isinstance(got, torch.Tensor) else got),
                              dtype=torch.float32)
        if tuple(got.shape) == (n, 2 * c, 2 * h, 2 * w):
            raise ExerciseFailed("you concatenated the channels (what a U-Net does with feature maps); "
                                 "FCN-16s ADDS the two score maps, so there are still "
                                 f"{c} class channels")
        if tuple(got.shape) != tuple(expected.shape):
            raise ExerciseFailed(f"coarse {tuple(coarse.shape)} + skip {tuple(skip.shape)} should give "
                                 f"{tuple(expected.shape)}, yours is {tuple(got.shape)}")
        nearest = torch.nn.functional.interpolate(coarse, scale_factor=2, mode="nearest") + skip
        if torch.allclose(got, nearest, atol=1e-5):
            raise ExerciseFailed("that is nearest-neighbour upsampling (2 x 2 blocks); use mode='bilinear'")
        if not torch.allclose(got, expected, atol=1e-5):
            raise ExerciseFailed("values differ: upsample the coarse scores 2x bilinearly "
                                 "(align_corners=False), then add the skip scores")
    return ("coarse scores 2x larger plus the finer level's own scores: twice repeated, "
            "this is FCN-8s (Long, Shelhamer & Darrell 2015).")
