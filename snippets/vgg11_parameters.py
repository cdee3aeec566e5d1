# %% [markdown]
# # Exercise 3: counting VGG11's parameters, layer by layer
#
# Use PyTorch to load the `vgg11` model and automatically compute its number of
# parameters. Output the number of parameters for each layer and the total number of
# parameters in the model.
#
# The exercise's web page runs this same code and checks its answers. It needs PyTorch
# and torchvision, and downloads nothing.

# %%
from __future__ import annotations

import numpy as np
import torch
import torchvision
from torch import nn

# %% [markdown]
# ## The model
#
# `weights=None` builds the architecture with random weights, no download. On the
# `meta` device every parameter has its true shape but no storage, which is all that
# counting needs (on the CPU it would take half a gigabyte).

# %%
with torch.device("meta"):
    vgg11 = torchvision.models.vgg11(weights=None)

# %% [markdown] tags=["your-turn"]
# ## Your turn
#
# `vgg11.parameters()` yields every weight and bias tensor once, and a tensor's
# `numel()` is its number of entries. A convolution with a $k \times k$ kernel has
# $k \cdot k \cdot C_\text{in} \cdot C_\text{out} + C_\text{out}$ parameters, a linear
# layer $n_\text{in} \cdot n_\text{out} + n_\text{out}$ (do not forget the biases).

# %% tags=["your-turn"]
# Print the total number of parameters of vgg11, then each layer of vgg11.features and
# vgg11.classifier with its number of parameters. Check one convolution by the
# formula above.

# %% [markdown] tags=["solution"]
# ## The solution, the sheet's way
#
# The total from `parameters()`, then one loop over `features` and one over
# `classifier` (`avgpool` has no parameters).

# %% tags=["solution"]
if __name__ == "__main__":
    print("total:", sum(p.numel() for p in vgg11.parameters()))
    for layer in [*vgg11.features, *vgg11.classifier]:
        print(layer, sum(p.numel() for p in layer.parameters()))

# %% [markdown] tags=["solution"]
# The same count as a function that checks its input, a per-layer table with each
# layer's formula, and the count from the VGG paper's configuration alone, without
# torch.


# %% tags=["solution"]
# --8<-- [start:count]
def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``module``: the sheet's ``sum(p.numel() for p in
    module.parameters())``, with its input checked.

    It counts ``Parameter`` objects. ``parameters()`` yields each one once, so a tied
    weight (one ``Parameter`` used by two layers) counts once, as in the sheet's
    one-liner; but two distinct ``Parameter`` objects that share storage count twice,
    and quantized modules, which hold packed weights rather than ``Parameter`` objects,
    count (nearly) nothing. With ``trainable_only=True``, frozen parameters
    (``requires_grad=False``) are left out.

    Refuses (``TypeError``) a ``module`` that is not a ``torch.nn.Module`` and a
    ``trainable_only`` that is not a bool (a NumPy bool is accepted).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if not isinstance(trainable_only, (bool, np.bool_)):
        raise TypeError(
            f"trainable_only must be True or False, got {type(trainable_only).__name__} "
            f"{trainable_only!r}"
        )
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


# --8<-- [end:count]


# --8<-- [start:table]
def build_on_meta(name: str = "vgg11") -> nn.Module:
    """A torchvision model with no weights, on the meta device: shapes only, no memory.

    Refuses (``ValueError``) a ``name`` that is not one of
    ``torchvision.models.list_models()`` (``"ResNet"`` is a class, ``"get_model"`` a
    helper), and a model that cannot be built on the meta device (the ``regnet_*``
    builders copy data while they initialise).
    """
    if not isinstance(name, str) or name not in torchvision.models.list_models():
        raise ValueError(
            f"name must be a torchvision model builder such as 'vgg11' "
            f"(see torchvision.models.list_models()), got {name!r}"
        )
    try:
        with torch.device("meta"):
            return torchvision.models.get_model(name, weights=None).eval()
    except (NotImplementedError, RuntimeError) as error:
        raise ValueError(
            f"name {name!r}: this model cannot be built on the meta device ({error}); "
            f"build it on the CPU with torchvision.models.get_model({name!r}) instead"
        ) from None


def formula(layer: nn.Module) -> str:
    """How a layer's parameter count comes about, as text ("—" for no parameters).

    Convolutions: kernel size · (C_in / groups) · C_out + C_out, for any kernel shape;
    linear: in · out + out; batch norm: 2 · C (scale and shift), or none with
    ``affine=False``. Other layers with parameters are refused (``TypeError``).
    """
    if isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        sizes = "·".join(str(k) for k in layer.kernel_size)
        c_in, c_out = layer.in_channels // layer.groups, layer.out_channels
        bias = f" + {c_out}" if layer.bias is not None else ""
        return f"{sizes}·{c_in}·{c_out}{bias}"
    if isinstance(layer, nn.Linear):
        bias = f" + {layer.out_features}" if layer.bias is not None else ""
        return f"{layer.in_features}·{layer.out_features}{bias}"
    if isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
        return f"2·{layer.num_features}" if layer.affine else "—"
    if isinstance(layer, nn.Module) and not any(True for _ in layer.parameters()):
        return "—"
    raise TypeError(
        f"layer must be a convolution, linear, batch-norm or parameter-free module, "
        f"got {type(layer).__name__}"
    )


def layer_table(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 224, 224)) -> list[dict]:
    """One row per layer of ``features``, ``avgpool`` and ``classifier``.

    Output shapes come from a forward pass of a meta tensor, so nothing is computed.
    Refuses (``TypeError``) a model without ``features``, ``avgpool`` and ``classifier``.
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

    Refuses (``TypeError``) a ``config`` that is not a list or tuple, items that are
    neither an int nor "M" (bools included), a ``batch_norm`` that is not a bool and
    ``classes`` that is not an int; (``ValueError``) channel counts or ``classes``
    below 1 and strings other than "M".
    """
    if not isinstance(config, (list, tuple)):
        raise TypeError(f"config must be a list of ints and 'M', got {type(config).__name__}")
    if not isinstance(batch_norm, (bool, np.bool_)):
        raise TypeError(
            f"batch_norm must be True or False, got {type(batch_norm).__name__} {batch_norm!r}"
        )
    if isinstance(classes, (bool, np.bool_)) or not isinstance(classes, (int, np.integer)):
        raise TypeError(f"classes must be an integer, got {type(classes).__name__} {classes!r}")
    if classes < 1:
        raise ValueError(f"classes must be >= 1, got {classes}")
    for position, item in enumerate(config):
        if isinstance(item, str):
            if item != "M":
                raise ValueError(f"config[{position}] must be an int or 'M', got {item!r}")
        elif isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)):
            raise TypeError(
                f"config[{position}] must be an int or 'M', got {type(item).__name__} {item!r}"
            )
        elif item < 1:
            raise ValueError(f"config[{position}] must be a channel count >= 1, got {item}")
    total, c_in = 0, 3
    for item in config:
        if item == "M":
            continue
        total += 3 * 3 * c_in * item + item + (2 * item if batch_norm else 0)
        c_in = item
    for n_in, n_out in ((c_in * 7 * 7, 4096), (4096, 4096), (4096, classes)):
        total += n_in * n_out + n_out
    return int(total)


# --8<-- [end:analytic]


def weights_num_params(name: str) -> int:
    """The parameter count torchvision records for its ImageNet weights (no download)."""
    weights = getattr(torchvision.models, name.upper() + "_Weights")  # vgg11_bn -> VGG11_BN_Weights
    return weights.IMAGENET1K_V1.meta["num_params"]


# %% [markdown] tags=["solution"]
# ## The answer

# %% tags=["solution"]
if __name__ == "__main__":
    vgg11 = build_on_meta("vgg11")
    for row in layer_table(vgg11):
        print(f"{row['name']:<14} {row['layer']:<18} {row['params']:>12,}")
    print(f"total: {count_parameters(vgg11):,}")
