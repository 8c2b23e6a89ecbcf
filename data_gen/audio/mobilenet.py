"""EfficientAT's MobileNetV3 ("mn" models) with the state_dict keys/shapes of the official files.

Layout: `features` = [stem, 15 inverted-residual blocks, last 1x1 conv], then the "mlp" `classifier`
(pool, flatten, Linear, Hardswish, Dropout, Linear to 527 AudioSet classes). Differences from
torchvision's MobileNetV3-Large: 1 input channel, BatchNorm eps 1e-3 / momentum 0.01, and the
squeeze-excitation is Linear+ReLU+Linear+Sigmoid under `conc_se_layers.0`.
"""

import dataclasses

import torch
from torch import nn

NUM_AUDIOSET_CLASSES = 527

# torchvision's MobileNetV3-Large list: in, kernel, expanded, out, SE, activation, stride.
_LARGE_BLOCKS = (
    (16, 3, 16, 16, False, "RE", 1),
    (16, 3, 64, 24, False, "RE", 2),
    (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2),
    (80, 3, 200, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 480, 112, True, "HS", 1),
    (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2),
    (160, 5, 960, 160, True, "HS", 1),
    (160, 5, 960, 160, True, "HS", 1),
)
_STEM_CHANNELS = 16
_LAST_CHANNEL = 1280
_ACTIVATIONS = {"RE": nn.ReLU, "HS": nn.Hardswish}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Nearest multiple of `divisor` (at least `divisor`), one step up if that lost over 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


@dataclasses.dataclass(frozen=True)
class BlockConfig:
    """One inverted-residual block after width scaling."""

    in_ch: int
    kernel: int
    exp_ch: int
    out_ch: int
    use_se: bool
    activation: str
    stride: int


def block_configs(width_mult: float) -> list[BlockConfig]:
    """The 15 blocks of an mn model of width `width_mult` (mn04 = 0.4, mn10 = 1.0, mn20 = 2.0)."""
    configs = []
    for in_ch, kernel, exp_ch, out_ch, use_se, act, stride in _LARGE_BLOCKS:
        scaled = (make_divisible(c * width_mult) for c in (in_ch, exp_ch, out_ch))
        in_s, exp_s, out_s = scaled
        configs.append(BlockConfig(in_s, kernel, exp_s, out_s, use_se, act, stride))
    return configs


class ConvNormActivation(nn.Sequential):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d(eps 1e-3, momentum 0.01) -> activation."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        stride: int = 1,
        groups: int = 1,
        activation: type[nn.Module] | None = None,
    ):
        layers: list[nn.Module] = [
            nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(out_ch, eps=0.001, momentum=0.01),
        ]
        if activation is not None:
            layers.append(activation())
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """Channel gate: mean over (freq, time) -> fc1 -> ReLU -> fc2 -> Sigmoid -> scale."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, squeeze)
        self.fc2 = nn.Linear(squeeze, channels)

    def forward(self, x_BxCxFxT: torch.Tensor) -> torch.Tensor:
        gate_BxC = torch.sigmoid(self.fc2(torch.relu(self.fc1(x_BxCxFxT.mean(dim=(2, 3))))))
        return x_BxCxFxT * gate_BxC[:, :, None, None]


class ConcurrentSE(nn.Module):
    """EfficientAT's SE container; released models hold one channel SE (a max over one = itself)."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        self.conc_se_layers = nn.ModuleList([SqueezeExcitation(channels, squeeze)])

    def forward(self, x_BxCxFxT: torch.Tensor) -> torch.Tensor:
        return self.conc_se_layers[0](x_BxCxFxT)


class InvertedResidual(nn.Module):
    """Expand 1x1 (only when the width changes) -> depthwise kxk -> optional SE -> project 1x1."""

    def __init__(self, cfg: BlockConfig):
        super().__init__()
        act = _ACTIVATIONS[cfg.activation]
        layers: list[nn.Module] = []
        if cfg.exp_ch != cfg.in_ch:
            layers.append(ConvNormActivation(cfg.in_ch, cfg.exp_ch, 1, activation=act))
        layers.append(
            ConvNormActivation(
                cfg.exp_ch, cfg.exp_ch, cfg.kernel, cfg.stride, groups=cfg.exp_ch, activation=act
            )
        )
        if cfg.use_se:
            layers.append(ConcurrentSE(cfg.exp_ch, make_divisible(cfg.exp_ch // 4)))
        layers.append(ConvNormActivation(cfg.exp_ch, cfg.out_ch, 1))
        self.block = nn.Sequential(*layers)
        self.use_residual = cfg.stride == 1 and cfg.in_ch == cfg.out_ch

    def forward(self, x_BxCxFxT: torch.Tensor) -> torch.Tensor:
        y = self.block(x_BxCxFxT)
        return y + x_BxCxFxT if self.use_residual else y


class MobileNetV3(nn.Module):
    """An EfficientAT mn model taking a normalised log-mel [B, 1, 128, T]."""

    def __init__(self, width_mult: float, num_classes: int = NUM_AUDIOSET_CLASSES):
        super().__init__()
        self.width_mult = width_mult
        blocks = block_configs(width_mult)
        stem_ch = make_divisible(_STEM_CHANNELS * width_mult)
        last_in = blocks[-1].out_ch
        last_conv_ch = 6 * last_in
        last_channel = make_divisible(_LAST_CHANNEL * width_mult)
        # Output channels of features[0..16], for sizing embeddings built from block outputs.
        self.channels = [stem_ch, *(cfg.out_ch for cfg in blocks), last_conv_ch]
        self.features = nn.Sequential(
            ConvNormActivation(1, stem_ch, 3, stride=2, activation=nn.Hardswish),
            *(InvertedResidual(cfg) for cfg in blocks),
            ConvNormActivation(last_in, last_conv_ch, 1, activation=nn.Hardswish),
        )
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(last_conv_ch, last_channel),
            nn.Hardswish(),
            nn.Dropout(p=0.2),
            nn.Linear(last_channel, num_classes),
        )

    def block_outputs(self, mel_Bx1xMxT: torch.Tensor, ids: tuple[int, ...]) -> list[torch.Tensor]:
        """Feature maps of `features[i]` for i in `ids` (0 = stem, 1-15 blocks, 16 last conv).

        Runs the network only as far as max(ids), so unused tail layers cost nothing.
        """
        outputs, wanted, x = [], set(ids), mel_Bx1xMxT
        for i in range(max(ids) + 1):
            x = self.features[i](x)
            if i in wanted:
                outputs.append(x)
        return [outputs[sorted(wanted).index(i)] for i in ids]

    def forward(self, mel_Bx1xMxT: torch.Tensor) -> torch.Tensor:
        """AudioSet logits [B, num_classes] (apply a sigmoid for probabilities)."""
        return self.classifier(self.features(mel_Bx1xMxT))


def init_random(model: MobileNetV3, seed: int) -> MobileNetV3:
    """torchvision's MobileNetV3 initialisation, reproducible from `seed` (tests, smoke runs)."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", generator=generator)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.01, generator=generator)
            nn.init.zeros_(module.bias)
    return model
