"""Shapes, size checks, ablation fairness and receptive fields of medseg_edu.nets."""

import pytest
import torch
from torch import nn

from medseg_edu import seed_everything
from medseg_edu.nets import (FCN, DilatedNet, PatchCNN, UNet, conv_block, count_parameters,
                             receptive_field, receptive_field_growth)


@pytest.fixture(autouse=True)
def _seed():
    seed_everything(0)


def test_conv_block_keeps_size():
    for dilation in (1, 2, 4):
        out = conv_block(1, 5, dilation=dilation)(torch.zeros(2, 1, 20, 20))
        assert out.shape == (2, 5, 20, 20)


@pytest.mark.parametrize("net", [FCN(), UNet(), UNet(skips=False), DilatedNet(),
                                 UNet(width=4, depth=2, in_channels=2, n_classes=3)],
                         ids=["fcn", "unet", "unet-noskip", "dilated", "unet-small"])
def test_segmentation_nets_return_same_size_scores(net):
    c_in, c_out = net.hparams["in_channels"], net.hparams["n_classes"]
    x = torch.randn(2, c_in, 32, 48)
    out = net(x)
    assert out.shape == (2, c_out, 32, 48)
    assert out.dtype == torch.float32


def test_patch_cnn_classifies_the_patch():
    net = PatchCNN(patch_size=33, n_classes=3)
    assert net(torch.randn(4, 1, 33, 33)).shape == (4, 3)
    with pytest.raises(ValueError, match="33 x 33"):
        net(torch.randn(4, 1, 32, 32))


@pytest.mark.parametrize("cls", [UNet, FCN])
def test_pooling_nets_refuse_sizes_not_divisible(cls):
    with pytest.raises(ValueError, match="divisible by 8"):
        cls(depth=3)(torch.randn(1, 1, 36, 36))
    cls(depth=2)(torch.randn(1, 1, 36, 36))  # 36 is divisible by 4


def test_skip_ablation_is_fair_but_different():
    with_skips, without = UNet(skips=True), UNet(skips=False)
    assert count_parameters(with_skips) == count_parameters(without)
    without.load_state_dict(with_skips.state_dict())  # identical layers
    x = torch.randn(2, 1, 32, 32)
    with_skips.eval(), without.eval()
    assert not torch.allclose(with_skips(x), without(x))


def test_count_parameters():
    assert count_parameters(nn.Conv2d(1, 4, 3)) == 4 * 9 + 4
    assert count_parameters(UNet(width=8, depth=3)) < 200_000  # CPU-sized


def test_dilated_stack_receptive_field_doubles():
    stack = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=d, dilation=d) for d in (1, 2, 4, 8)])
    assert receptive_field_growth(stack) == [3, 7, 15, 31]
    assert receptive_field(stack) == 31
    net = DilatedNet(dilations=(1, 2, 4, 8))
    assert receptive_field_growth(net) == [3, 7, 15, 31]  # the 1x1 classifier adds nothing
    assert receptive_field(net) == 31
    assert receptive_field(DilatedNet()) == 1 + 2 * sum((1, 1, 2, 4, 8, 16, 1))


def test_pooling_receptive_fields_are_computed():
    # stride-free stack vs pooled: pooling multiplies the growth of later layers
    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.MaxPool2d(2),
                                         nn.Conv2d(1, 1, 3, padding=1))) == 3 + 1 + 2 * 2
    fcn3, fcn4 = receptive_field(FCN(depth=3)), receptive_field(FCN(depth=4))
    assert fcn3 > 32 and fcn4 > fcn3
    unet3, unet2 = receptive_field(UNet(depth=3)), receptive_field(UNet(depth=2))
    assert unet3 > 68 and unet3 > unet2 and unet3 > fcn3  # deepest path incl. decoder
    growth = receptive_field_growth(UNet())
    assert growth == sorted(growth) and growth[-1] == unet3
    assert receptive_field(PatchCNN(patch_size=25)) == 25  # the dense head sees the patch


def test_receptive_field_leaves_the_model_untouched():
    net = UNet()
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    receptive_field(net)
    assert net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
