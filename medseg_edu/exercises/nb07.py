"""Checkers for notebook 07 (dilated CNN): a dilated convolution written by hand, receptive fields by hand."""

from __future__ import annotations

import numpy as np

from . import ExerciseFailed, exercise, require_equal
from ._shortcuts import refuse_shortcut


@exercise("07.rf_dilated")
def _rf_dilated(rf_of_dilations):
    from ..nets import DilatedNet, receptive_field

    for dilations in ((1,), (1, 1), (1, 2, 4, 8), (1, 2, 5, 1, 2, 5), (2, 2, 2, 2), (1, 1, 2, 4, 8, 16, 1)):
        expected = receptive_field(DilatedNet(width=2, dilations=dilations))
        require_equal(rf_of_dilations(list(dilations)), expected,
                      f"the receptive field (px) of 3x3 convolutions with dilations {list(dilations)}", hints=[
                          (lambda got: got == 2 * sum(dilations) - 1, "start from 1: a single pixel sees itself"),
                          (lambda got: got == 3 * len(dilations),
                           "a dilated 3x3 kernel spans 2*d + 1 pixels, so it adds 2*d, not 3")])
    return "RF = 1 + 2 * sum(dilations): doubling the dilations doubles the field at every layer."


@exercise("07.rf_layers")
def _rf_layers(rf_of_layers):
    from torch import nn

    from ..nets import receptive_field

    def conv(k, d=1):
        return nn.Conv2d(1, 1, k, padding=d * (k // 2), dilation=d)

    stacks = {
        "[conv3, conv3]": ([(3, 1, 1), (3, 1, 1)], [conv(3), conv(3)]),
        "[conv3, pool2, conv3]": ([(3, 1, 1), (2, 2, 1), (3, 1, 1)], [conv(3), nn.MaxPool2d(2), conv(3)]),
        "a U-Net-like encoder (2 x [conv3, conv3, pool2], conv3)": (
            [(3, 1, 1), (3, 1, 1), (2, 2, 1)] * 2 + [(3, 1, 1)],
            [conv(3), conv(3), nn.MaxPool2d(2)] * 2 + [conv(3)]),
        "[conv3 d=2, pool2, conv3 d=4]": ([(3, 1, 2), (2, 2, 1), (3, 1, 4)],
                                          [conv(3, 2), nn.MaxPool2d(2), conv(3, 4)]),
        "[conv5, pool2, pool2, conv3]": ([(5, 1, 1), (2, 2, 1), (2, 2, 1), (3, 1, 1)],
                                         [conv(5), nn.MaxPool2d(2), nn.MaxPool2d(2), conv(3)]),
    }
    for name, (layers, modules) in stacks.items():
        expected = receptive_field(nn.Sequential(*modules), input_size=96)
        got = rf_of_layers(list(layers))
        if got != expected:
            hint = ""
            if name != "[conv3, conv3]" and got == 1 + sum((k - 1) * d for k, s, d in layers):
                hint = " (after a stride-2 layer, one more pixel further on is `jump` input pixels away)"
            raise ExerciseFailed(f"{name} sees {expected} px; you returned {got!r}{hint}")
    return "pooling multiplies the jump, so every later layer's kernel reaches further."


def _reference_dilated_conv(image, kernel, dilation):
    """PyTorch's dilated convolution (a cross-correlation), zero-padded to keep the image's size."""
    import torch
    import torch.nn.functional as F

    pad = dilation * (kernel.shape[0] // 2)
    out = F.conv2d(torch.as_tensor(image, dtype=torch.float64)[None, None],
                   torch.as_tensor(kernel, dtype=torch.float64)[None, None], padding=pad, dilation=dilation)
    return out[0, 0].numpy()


#: Library convolutions (PyTorch, SciPy) that would do the exercise for the learner.
CONVOLUTION_SHORTCUTS = ("conv2d", "conv_nd", "convolution", "Conv2d", "correlate", "convolve", "correlate2d",
                         "convolve2d", "fftconvolve", "oaconvolve")


@exercise("07.dilated_conv")
def _dilated_conv(dilated_conv2d):
    refuse_shortcut(dilated_conv2d, names=CONVOLUTION_SHORTCUTS,
                    task="the sum over the k x k taps, each reading the zero-padded image shifted by (i, j) * dilation")
    rng = np.random.default_rng(7)
    cases = [((9, 11), 3, 1), ((12, 10), 3, 2), ((16, 16), 3, 4), ((13, 17), 5, 2), ((8, 8), 3, 3)]
    for shape, size, dilation in cases:
        image, kernel = rng.normal(size=shape), rng.normal(size=(size, size))
        expected = _reference_dilated_conv(image, kernel, dilation)
        got = dilated_conv2d(image.copy(), kernel.copy(), dilation)
        if got is None:
            raise ExerciseFailed("your function returned None: end it with `return <the output image>`")
        got = np.asarray(got, dtype=float)
        where = f"a {shape[0]} x {shape[1]} image, a {size} x {size} kernel, dilation {dilation}"
        if got.shape != expected.shape:
            hint = ""
            if got.shape == (shape[0] + 2 * (size // 2) - dilation * (size - 1),
                             shape[1] + 2 * (size // 2) - dilation * (size - 1)):
                hint = (" (you padded by kernel // 2 as for an ordinary convolution: a dilated kernel spans "
                        "dilation * (k - 1) + 1 pixels, so pad by dilation * (k // 2))")
            raise ExerciseFailed(f"for {where} the output should keep the image's shape {expected.shape}; "
                                 f"you returned {got.shape}{hint}")
        if not np.allclose(got, expected, rtol=1e-6, atol=1e-8):
            hint = ""
            if np.allclose(got, _reference_dilated_conv(image, kernel[::-1, ::-1].copy(), dilation), atol=1e-8):
                hint = " (you flipped the kernel: PyTorch's conv2d, like every CNN layer, does not)"
            elif dilation > 1 and np.allclose(got, _reference_dilated_conv(image, kernel, 1), atol=1e-8):
                hint = " (the taps must sit `dilation` pixels apart, not next to each other)"
            raise ExerciseFailed(f"for {where} your output differs from torch.nn.functional.conv2d{hint}")
    return "k x k weights, taps d pixels apart, zero padding d * (k // 2): the same size, a wider view."
