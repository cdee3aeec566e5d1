# %% [markdown]
# # Exercise 3: counting VGG11's parameters, layer by layer
#
# This notebook is generated from `snippets/vgg11_parameters.py`, the same file the
# website runs and the test suite checks. It needs PyTorch and torchvision, and
# downloads nothing: the model is built without weights, on the `meta` device.

# %%
from __future__ import annotations

import torch
import torchvision
from torch import nn


# --8<-- [start:count]
def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module``: the sheet's ``sum(p.numel() for p in
    module.parameters())``, with its input checked.

    ``parameters()`` yields each tensor once, so tied weights (one ``Parameter`` used by
    two layers) count once, as in the sheet's one-liner. With ``trainable_only=True``,
    frozen parameters (``requires_grad=False``) are left out.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(trainable_only, bool):
        raise TypeError(f"trainable_only must be a bool, got {type(trainable_only).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# --8<-- [end:count]


# --8<-- [start:table]
def build_on_meta(name: str = "vgg11") -> nn.Module:
    """A torchvision model with no weights, on the meta device: shapes only, no memory."""
    if not isinstance(name, str) or not hasattr(torchvision.models, name):
        raise ValueError(f"name must be a torchvision model builder, got {name!r}")
    with torch.device("meta"):
        return getattr(torchvision.models, name)(weights=None).eval()


def formula(layer: nn.Module) -> str:
    """How a layer's parameter count comes about, as text."""
    if isinstance(layer, nn.Conv2d):
        k, (c_in, c_out) = layer.kernel_size[0], (layer.in_channels, layer.out_channels)
        bias = f" + {c_out}" if layer.bias is not None else ""
        return f"{k}·{k}·{c_in}·{c_out}{bias}"
    if isinstance(layer, nn.Linear):
        bias = f" + {layer.out_features}" if layer.bias is not None else ""
        return f"{layer.in_features}·{layer.out_features}{bias}"
    if isinstance(layer, nn.BatchNorm2d):
        return f"2·{layer.num_features}"
    return "—"


def layer_table(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 224, 224)) -> list[dict]:
    """One row per layer of ``features``, ``avgpool`` and ``classifier``.

    Output shapes come from a forward pass of a meta tensor, so nothing is computed.
    """
    if not all(hasattr(model, part) for part in ("features", "avgpool", "classifier")):
        raise TypeError("model must be a torchvision VGG (features, avgpool, classifier)")
    layers = [(f"features.{i}", m) for i, m in enumerate(model.features)]
    layers += [("avgpool", model.avgpool)]
    layers += [(f"classifier.{i}", m) for i, m in enumerate(model.classifier)]
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        layer.register_forward_hook(
            lambda _m, _in, out, name=name: shapes.__setitem__(name, tuple(out.shape))
        )
        for name, layer in layers
    ]
    try:
        with torch.no_grad():
            model(torch.empty(input_shape, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    total = count_parameters(model)
    return [
        {
            "name": name,
            "layer": type(layer).__name__,
            "output_shape": shapes[name],
            "params": count_parameters(layer),
            "formula": formula(layer),
            "share": count_parameters(layer) / total,
        }
        for name, layer in layers
    ]


# --8<-- [end:table]


# --8<-- [start:analytic]
# The layer configurations of the VGG paper (Simonyan & Zisserman, 2015), table 1:
# numbers are 3x3 convolutions with that many output channels, "M" is a 2x2 max-pool.
VGG_CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}  # fmt: skip


def analytic_count(config: list, batch_norm: bool = False, classes: int = 1000) -> int:
    """Parameters of a VGG from its configuration, by the formulas alone (no torch).

    Convolution: k·k·C_in·C_out + C_out; batch norm: 2·C (scale and shift);
    linear: in·out + out. The classifier is 512·7·7 -> 4096 -> 4096 -> classes.
    """
    total, c_in = 0, 3
    for item in config:
        if item == "M":
            continue
        total += 3 * 3 * c_in * item + item + (2 * item if batch_norm else 0)
        c_in = item
    for n_in, n_out in ((c_in * 7 * 7, 4096), (4096, 4096), (4096, classes)):
        total += n_in * n_out + n_out
    return total


# --8<-- [end:analytic]


def weights_num_params(name: str) -> int:
    """The parameter count torchvision records for its ImageNet weights (no download)."""
    weights = getattr(torchvision.models, name.upper() + "_Weights")  # vgg11_bn -> VGG11_BN_Weights
    return weights.IMAGENET1K_V1.meta["num_params"]


# %% [markdown]
# ## The answer

# %%
if __name__ == "__main__":
    vgg11 = build_on_meta("vgg11")
    for row in layer_table(vgg11):
        print(f"{row['name']:<14} {row['layer']:<18} {row['params']:>12,}")
    print(f"total: {count_parameters(vgg11):,}")
