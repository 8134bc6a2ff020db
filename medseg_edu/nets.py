"""Small segmentation networks, one per architecture taught in the notebooks.

Each network's ``forward`` is meant to be read next to the paper's figure
(``inspect.getsource(UNet.forward)`` in notebook 06), so it is kept short,
with one named step per line and a comment on *why* the step is there.

All networks take a batch of 2D slices shaped ``(N, in_channels, H, W)``
(float32) and, except :class:`PatchCNN`, return class scores (logits) of the
same size ``(N, n_classes, H, W)``. On the course grid a slice is 96 x 96
pixels of 1.25 mm (``medseg_edu.data.to_grid``).

================  ===============================  ==========================
network           paper                            output
================  ===============================  ==========================
``PatchCNN``      per-pixel patch classification   ``(N, n_classes)``
``FCN``           Long & Shelhamer, CVPR 2015      ``(N, n_classes, H, W)``
``UNet``          Ronneberger et al., MICCAI 2015  ``(N, n_classes, H, W)``
``DilatedNet``    Yu & Koltun, ICLR 2016           ``(N, n_classes, H, W)``
================  ===============================  ==========================

Layer 3 of the package: imports only torch (and nothing from layers above).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._device import memory_format, resolve

__all__ = [
    "conv_block",
    "PatchCNN",
    "FCN",
    "UNet",
    "DilatedNet",
    "receptive_field",
    "receptive_field_growth",
    "count_parameters",
    "class_probabilities",
    "fuse_skip_scores",
]


def conv_block(in_ch: int, out_ch: int, dilation: int = 1) -> nn.Sequential:
    """Two 3x3 convolutions, each followed by BatchNorm and ReLU.

    ``padding = dilation`` keeps the height and width unchanged, so a block
    never shrinks the image (the original U-Net used unpadded convolutions and
    cropped; padding is simpler and is what modern implementations do).
    """
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def _check_divisible(x: torch.Tensor, factor: int, name: str) -> None:
    h, w = x.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(
            f"{name} halves the image {int(math.log2(factor))} times, so height and width "
            f"must be divisible by {factor}; got {h} x {w}. Pad or crop the slices "
            f"(the course grid is 96 x 96, which works up to depth 5)."
        )


class PatchCNN(nn.Module):
    """Classify the centre pixel of a square patch (the pre-FCN way to segment).

    Two conv blocks with 2x2 max-pooling extract features from the patch; a
    small fully-connected head turns them into one score per class. To
    segment a slice the network must be run once for *every pixel* (on a
    patch centred on it) - 9216 evaluations for a 96 x 96 slice. That cost is
    the lesson of notebook 04.

    Input ``(N, in_channels, patch_size, patch_size)``; output ``(N, n_classes)``.
    """

    def __init__(self, patch_size: int = 33, width: int = 16, in_channels: int = 1,
                 n_classes: int = 2):
        super().__init__()
        if patch_size < 4:
            raise ValueError(f"patch_size must be at least 4 pixels; got {patch_size}.")
        self.hparams = dict(patch_size=patch_size, width=width, in_channels=in_channels,
                            n_classes=n_classes)
        self.patch_size = patch_size
        self.features = nn.Sequential(
            conv_block(in_channels, width),
            nn.MaxPool2d(2),
            conv_block(width, 2 * width),
            nn.MaxPool2d(2),
        )
        side = patch_size // 4  # two poolings, each halving (rounding down)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * width * side * side, 4 * width),
            nn.ReLU(inplace=True),
            nn.Linear(4 * width, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (self.patch_size, self.patch_size):
            raise ValueError(f"PatchCNN expects {self.patch_size} x {self.patch_size} patches; "
                             f"got {tuple(x.shape[-2:])}.")
        features = self.features(x)       # local patterns, pooled: where exactly no longer matters
        return self.classifier(features)  # every feature votes on the class of the centre pixel


class FCN(nn.Module):
    """Fully convolutional network in the spirit of FCN-32s (Long & Shelhamer 2015).

    The encoder (conv block + 2x2 max-pooling, ``depth`` times) sees more
    context at each level but loses resolution; a 1x1 convolution classifies
    every position of the coarsest map, and a single bilinear upsampling by
    ``2**depth`` brings the scores back to the input size. No skip
    connections: borders come out blurred - compare with :class:`UNet`.

    Input ``(N, in_channels, H, W)`` with H, W divisible by ``2**depth``;
    output ``(N, n_classes, H, W)``.
    """

    def __init__(self, width: int = 16, depth: int = 3, in_channels: int = 1,
                 n_classes: int = 2):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1; got {depth}.")
        self.hparams = dict(width=width, depth=depth, in_channels=in_channels,
                            n_classes=n_classes)
        self.depth = depth
        channels = [in_channels] + [width * 2 ** level for level in range(depth)]
        self.encoder = nn.Sequential(*[
            nn.Sequential(conv_block(channels[i], channels[i + 1]), nn.MaxPool2d(2))
            for i in range(depth)
        ])
        self.classifier = nn.Conv2d(channels[-1], n_classes, 1)
        self.upsample = nn.Upsample(scale_factor=2 ** depth, mode="bilinear",
                                    align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_divisible(x, 2 ** self.depth, "FCN")
        features = self.encoder(x)           # what is there: wide context, 1/2**depth resolution
        coarse = self.classifier(features)   # one score per class at every coarse position
        return self.upsample(coarse)         # back to full size in ONE step: blurry borders


class UNet(nn.Module):
    """U-Net (Ronneberger, Fischer & Brox 2015), small enough for a CPU.

    Contracting path: conv block then 2x2 max-pooling at each level, with
    ``width * 2**level`` channels. Expanding path: a learnt 2x upsampling
    (transposed convolution), then the encoder's feature map of the same
    level is concatenated (the *skip connection*, giving back the fine
    detail pooling threw away) and a conv block merges the two.

    ``skips=False`` is the ablation of notebook 06: the decoder receives
    zeros of the same shape instead of the encoder map, so both variants
    have exactly the same layers and parameter count.

    Input ``(N, in_channels, H, W)`` with H, W divisible by ``2**depth``;
    output ``(N, n_classes, H, W)``.
    """

    def __init__(self, width: int = 8, depth: int = 3, skips: bool = True,
                 in_channels: int = 1, n_classes: int = 2):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1; got {depth}.")
        self.hparams = dict(width=width, depth=depth, skips=skips, in_channels=in_channels,
                            n_classes=n_classes)
        self.depth, self.skips = depth, skips
        ch = [width * 2 ** level for level in range(depth + 1)]  # channels per level
        self.down = nn.ModuleList(
            [conv_block(in_channels if level == 0 else ch[level - 1], ch[level])
             for level in range(depth)])
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = conv_block(ch[depth - 1], ch[depth])
        # decoder modules are listed from the deepest level up, in the order they run
        self.up = nn.ModuleList(
            [nn.ConvTranspose2d(ch[level + 1], ch[level], 2, stride=2)
             for level in reversed(range(depth))])
        self.merge = nn.ModuleList(
            [conv_block(2 * ch[level], ch[level]) for level in reversed(range(depth))])
        self.head = nn.Conv2d(ch[0], n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_divisible(x, 2 ** self.depth, "UNet")
        skips = []
        for down in self.down:                 # contracting path (left side of the U)
            x = down(x)
            skips.append(x)                    # keep the fine detail for the way back up
            x = self.pool(x)                   # half the size: each pixel now sees more context
        x = self.bottleneck(x)                 # coarsest level: the widest view of the image
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):  # expanding path
            x = up(x)                          # learnt 2x upsampling
            if not self.skips:
                skip = torch.zeros_like(skip)  # ablation: same shapes, no information
            x = merge(torch.cat([skip, x], dim=1))  # "where" (skip) meets "what" (decoder)
        return self.head(x)                    # 1x1 conv: class scores for every pixel


class DilatedNet(nn.Module):
    """Context-aggregation network with dilated convolutions (Yu & Koltun 2016).

    One 3x3 convolution (+ BatchNorm + ReLU) per entry of ``dilations``, the
    kernel spread ``d`` pixels apart, then a 1x1 classifier. There is no
    pooling, so the resolution is never lost, yet the receptive field grows
    exponentially when the dilations double (1, 2, 4, 8 -> 3, 7, 15, 31 px).

    Input ``(N, in_channels, H, W)`` of any size; output ``(N, n_classes, H, W)``.
    """

    def __init__(self, width: int = 16, dilations=(1, 1, 2, 4, 8, 16, 1), in_channels: int = 1,
                 n_classes: int = 2):
        super().__init__()
        dilations = tuple(int(d) for d in dilations)
        if not dilations or min(dilations) < 1:
            raise ValueError(f"dilations must be positive integers; got {dilations}.")
        self.hparams = dict(width=width, dilations=list(dilations), in_channels=in_channels,
                            n_classes=n_classes)
        layers = []
        for i, d in enumerate(dilations):
            layers += [
                nn.Conv2d(in_channels if i == 0 else width, width, 3, padding=d, dilation=d,
                          bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
        self.context = nn.Sequential(*layers)
        self.classifier = nn.Conv2d(width, n_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.context(x)       # dilated 3x3 convs: wider view, same resolution
        return self.classifier(features)  # 1x1 conv: class scores for every pixel


# --------------------------------------------------------------------------- inference

def _channels_last(model: nn.Module) -> bool:
    weight = next((p for p in model.parameters() if p.ndim == 4), None)
    return weight is not None and not weight.is_contiguous() and weight.is_contiguous(
        memory_format=torch.channels_last)


@torch.no_grad()
def class_probabilities(model: nn.Module, images, *, batch_size: int = 32, device=None):
    """Softmax class probabilities of ``model`` for a numpy batch ``(N, C, H, W)``, in chunks.

    The package's one forward pass for inference and validation (``methods.deep.predict_proba``
    and ``train.evaluate_dice`` both call it): the model is moved to ``device`` (default
    :func:`medseg_edu.device`, the package's one rule) and put in eval mode; on the CPU the
    batches run channels-last (:func:`medseg_edu._device.memory_format`), and the model's own
    memory layout is given back afterwards.

    Returns
    -------
    numpy.ndarray, float32
        ``(N, n_classes, H, W)`` (``(N, n_classes)`` for a patch classifier).
    """
    import numpy as np

    dev = resolve(device)
    layout = memory_format(dev)
    found = torch.channels_last if _channels_last(model) else torch.contiguous_format
    model.to(dev, memory_format=layout)
    model.eval()
    chunks = []
    try:
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(np.asarray(images[start:start + batch_size], dtype=np.float32)).to(dev)
            scores = model(batch.contiguous(memory_format=layout))
            chunks.append(torch.softmax(scores, dim=1).float().cpu().numpy())
    finally:
        model.to(memory_format=found)
    return np.concatenate(chunks).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- analysis

def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (weights and biases)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _pair(value) -> int:
    """First element of a (h, w) pair; the course networks are square."""
    return int(value[0] if isinstance(value, (tuple, list)) else value)


def _example_size(model: nn.Module) -> int:
    if getattr(model, "patch_size", None):
        return int(model.patch_size)
    factor = 2 ** int(getattr(model, "depth", 0) or 0)
    return factor * max(1, math.ceil(96 / factor))


def _layers_in_run_order(model: nn.Module, size: int | None = None):
    """The spatial layers in the order ``forward`` runs them (found with hooks)."""
    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d, nn.Upsample, nn.Linear)
    order, handles = [], []
    for module in model.modules():
        if isinstance(module, kinds):
            handles.append(module.register_forward_hook(
                lambda mod, inputs, output: order.append((mod, tuple(inputs[0].shape)))))
    first_conv = next((m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))), None)
    in_channels = getattr(model, "hparams", {}).get("in_channels")
    if in_channels is None:
        in_channels = first_conv.in_channels if isinstance(first_conv, nn.Conv2d) else 1
    size = size or _example_size(model)
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else "cpu"
        was_training = model.training
        model.eval()  # BatchNorm statistics untouched, works for a batch of one
        with torch.no_grad():
            model(torch.zeros(1, in_channels, size, size, device=device))
        model.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    return order, size


def _walk(model: nn.Module, size: int | None = None):
    """Track receptive field ``r`` and jump (input pixels between outputs) layer by layer.

    Returns the list of ``(layer, r)`` after every layer and the input size used.
    """
    order, size = _layers_in_run_order(model, size)
    r, jump, steps = 1.0, 1.0, []
    for layer, in_shape in order:
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and not isinstance(
                layer, nn.ConvTranspose2d):
            k, s = _pair(layer.kernel_size), _pair(layer.stride)
            d = _pair(getattr(layer, "dilation", 1))
            r += (k - 1) * d * jump  # the kernel spans k-1 gaps of d * jump input pixels
            jump *= s                # striding/pooling spreads neighbours further apart
        elif isinstance(layer, nn.ConvTranspose2d):
            k, s, d = _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.dilation)
            r += (math.ceil(k / s) - 1) * d * jump  # inputs touching one output (0 for k = s)
            jump /= s                              # upsampling divides the jump
        elif isinstance(layer, nn.Upsample):
            factor = _pair(layer.scale_factor) if layer.scale_factor else 1
            taps = {"nearest": 1, "bilinear": 2, "bicubic": 4}.get(layer.mode, 2)
            r += (taps - 1) * jump  # interpolation mixes neighbouring coarse pixels
            jump /= factor
        elif isinstance(layer, nn.Linear):
            r = float(size)  # a fully-connected layer sees the whole input
        steps.append((layer, r))
    return steps, size


def receptive_field(model: nn.Module, input_size: int | None = None) -> int:
    """Theoretical receptive field of ``model`` in input pixels (one side of the square).

    Computed from the layers, in the order ``forward`` runs them (a dummy
    input is passed through with hooks): each convolution or pooling with
    kernel ``k`` and dilation ``d`` adds ``(k-1)*d*jump`` pixels, where the
    *jump* is the distance in input pixels between two neighbouring positions
    of the current feature map; a stride multiplies the jump, an upsampling
    divides it. For a U-Net this follows the deepest path (encoder ->
    bottleneck -> decoder), the path that sees the most. A fully-connected
    layer (``PatchCNN``) sees the whole patch.

    ``input_size`` only sets the dummy input (default: the patch size, or 96).
    """
    steps, _ = _walk(model, input_size)
    return int(round(steps[-1][1])) if steps else 1


def receptive_field_growth(model: nn.Module, input_size: int | None = None) -> list[int]:
    """Receptive field (pixels) after each convolution, in the order they run.

    1x1 convolutions are left out (they do not change it). A stack of 3x3
    convolutions with dilations 1, 2, 4, 8 gives ``[3, 7, 15, 31]``.
    """
    steps, _ = _walk(model, input_size)
    return [int(round(r)) for layer, r in steps
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d))
            and _pair(layer.kernel_size) > 1]


def fuse_skip_scores(coarse: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
    """One skip step of FCN-16s / FCN-8s (Long, Shelhamer & Darrell 2015).

    The coarse class scores are upsampled 2x (bilinear) and *added* to class
    scores computed from a finer encoder map (a 1 x 1 convolution of pool4 in
    FCN-16s, then pool3 in FCN-8s), so the finer map can move the border.
    The U-Net instead *concatenates* feature maps and convolves them.

    Parameters
    ----------
    coarse : torch.Tensor, (N, n_classes, H, W)
    skip : torch.Tensor, (N, n_classes, 2H, 2W)
        Scores from the finer level, same classes.

    Returns
    -------
    torch.Tensor, (N, n_classes, 2H, 2W)
    """
    if coarse.dim() != 4 or skip.dim() != 4:
        raise ValueError(f"give (N, C, H, W) tensors, got {tuple(coarse.shape)} and {tuple(skip.shape)}")
    n, c, h, w = coarse.shape
    if tuple(skip.shape) != (n, c, 2 * h, 2 * w):
        raise ValueError(f"skip scores must be (N, C, 2H, 2W) = {(n, c, 2 * h, 2 * w)} for coarse "
                         f"{tuple(coarse.shape)}, got {tuple(skip.shape)}")
    up = nn.functional.interpolate(coarse, scale_factor=2, mode="bilinear", align_corners=False)
    return up + skip
