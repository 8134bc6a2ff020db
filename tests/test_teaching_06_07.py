"""Notebooks 06 and 07 (issue 13): the decoder step and the dilated convolution the learner writes,
and the receptive-field numbers notebook 07 states."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from medseg_edu import exercises, nets
from medseg_edu.methods.unet import decoder_step


def test_decoder_step_is_what_the_unet_runs():
    torch.manual_seed(0)
    model = nets.UNet(width=4, depth=2).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        skips, h = [], x
        for down in model.down:
            h = down(h)
            skips.append(h)
            h = model.pool(h)
        h = model.bottleneck(h)
        for up, merge, skip in zip(model.up, model.merge, reversed(skips)):
            h = decoder_step(h, skip, up, merge)
        assert torch.allclose(model.head(h), model(x), atol=1e-6)


def test_decoder_step_checker_rejects_a_step_without_the_skip():
    def no_skip(below, skip, up, merge):
        x = up(below)
        return merge(torch.cat([torch.zeros_like(skip), x], dim=1))

    verdict = exercises.check("06.decoder_step", no_skip, quiet=True)
    assert not verdict.passed and "skip" in verdict.message


def test_dilated_conv_checker_names_the_flipped_kernel():
    def flipped(image, kernel, dilation):       # written by hand (a library call is refused), kernel flipped
        k = kernel.shape[0]
        kernel = kernel[::-1, ::-1]
        padded = np.pad(image, dilation * (k // 2))
        out = np.zeros(image.shape)
        for i in range(k):
            for j in range(k):
                out += kernel[i, j] * padded[i * dilation:i * dilation + image.shape[0],
                                             j * dilation:j * dilation + image.shape[1]]
        return out

    verdict = exercises.check("07.dilated_conv", flipped, quiet=True)
    assert not verdict.passed and "flipped" in verdict.message


def test_dilated_conv_checker_refuses_torch_conv2d():
    def library(image, kernel, dilation):
        k = kernel.shape[0]
        out = F.conv2d(torch.as_tensor(image)[None, None], torch.as_tensor(kernel.copy())[None, None],
                       padding=dilation * (k // 2), dilation=dilation)
        return out[0, 0].numpy()

    verdict = exercises.check("07.dilated_conv", library, quiet=True)
    assert not verdict.passed and "calls conv2d" in verdict.message


def test_unet_receptive_field_is_96_px_whatever_the_input_and_deeper_is_larger():
    """Notebook 07: 96 px is the depth-3 U-Net's theoretical field (not a cap), equal to the slice."""
    assert nets.receptive_field(nets.UNet(width=4, depth=3), input_size=96) == 96
    assert nets.receptive_field(nets.UNet(width=4, depth=3), input_size=192) == 96
    assert nets.receptive_field(nets.UNet(width=4, depth=4), input_size=192) == 200


def test_the_empirical_field_of_a_dilated_stack_matches_the_theory():
    """The gradient of one output pixel reaches exactly 1 + 2 * sum(d) pixels (positive weights)."""
    for dilations in ((1, 2, 4), (1, 2, 5), (1, 1, 2)):
        x = torch.zeros(1, 1, 41, 41, dtype=torch.float64, requires_grad=True)
        h = x
        for d in dilations:
            h = F.conv2d(h, torch.ones(1, 1, 3, 3, dtype=torch.float64), padding=d, dilation=d)
        h[0, 0, 20, 20].backward()
        rows = np.flatnonzero(x.grad[0, 0].abs().sum(dim=1).numpy() > 0)
        assert rows.max() - rows.min() + 1 == 1 + 2 * sum(dilations)
