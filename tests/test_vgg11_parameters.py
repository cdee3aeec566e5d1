"""Mirror test of snippets/vgg11_parameters.py: hand-worked counts, tied and frozen weights."""

from __future__ import annotations

import pytest
import torch
from conftest import load_snippet, run_snippet
from torch import nn

vgg = load_snippet("vgg11_parameters")

# Worked out by hand from k·k·C_in·C_out + C_out and in·out + out.
HAND_COUNTS = {
    "features.0": 3 * 3 * 3 * 64 + 64,  # 1,792
    "features.3": 3 * 3 * 64 * 128 + 128,  # 73,856
    "features.6": 3 * 3 * 128 * 256 + 256,  # 295,168
    "features.8": 3 * 3 * 256 * 256 + 256,  # 590,080
    "features.11": 3 * 3 * 256 * 512 + 512,  # 1,180,160
    "features.13": 3 * 3 * 512 * 512 + 512,  # 2,359,808
    "features.16": 2_359_808,
    "features.18": 2_359_808,
    "classifier.0": 25088 * 4096 + 4096,  # 102,764,544
    "classifier.3": 4096 * 4096 + 4096,  # 16,781,312
    "classifier.6": 4096 * 1000 + 1000,  # 4,097,000
}
TOTAL = 132_863_336


@pytest.fixture(scope="module")
def vgg11():
    return vgg.build_on_meta("vgg11")


def test_per_layer_counts(vgg11):
    rows = vgg.layer_table(vgg11)
    counted = {r["name"]: r["params"] for r in rows if r["params"]}
    assert counted == HAND_COUNTS
    assert HAND_COUNTS["features.0"] == 1_792 and HAND_COUNTS["classifier.0"] == 102_764_544
    assert len(rows) == 21 + 1 + 7


def test_totals(vgg11):
    assert vgg.count_parameters(vgg11) == TOTAL == sum(HAND_COUNTS.values())
    assert vgg.analytic_count(vgg.VGG_CONFIGS["vgg11"]) == TOTAL
    assert vgg.weights_num_params("vgg11") == TOTAL
    assert vgg.count_parameters(vgg11.features) == 9_220_480
    assert vgg.count_parameters(vgg11.classifier) == 123_642_856


def test_output_shapes_and_formulas(vgg11):
    rows = {r["name"]: r for r in vgg.layer_table(vgg11)}
    assert rows["features.0"]["output_shape"] == (1, 64, 224, 224)
    assert rows["features.20"]["output_shape"] == (1, 512, 7, 7)
    assert rows["avgpool"]["output_shape"] == (1, 512, 7, 7)
    assert rows["classifier.6"]["output_shape"] == (1, 1000)
    assert rows["features.0"]["formula"] == "3·3·3·64 + 64"
    assert rows["classifier.0"]["formula"] == "25088·4096 + 4096"
    assert rows["classifier.0"]["share"] == pytest.approx(0.7735, abs=5e-5)


@pytest.mark.parametrize(
    "name, expected",
    [("vgg11_bn", 132_868_840), ("vgg13", 133_047_848), ("vgg16", 138_357_544),
     ("vgg19_bn", 143_678_248)],
)  # fmt: skip
def test_other_variants(name, expected):
    depth = name.split("_")[0]
    assert vgg.count_parameters(vgg.build_on_meta(name)) == expected
    assert vgg.analytic_count(vgg.VGG_CONFIGS[depth], batch_norm=name.endswith("bn")) == expected
    assert vgg.weights_num_params(name) == expected


def test_the_cpu_model_has_the_same_count():
    """Meta and CPU builds agree (a small model, so the test stays quick)."""
    torch.manual_seed(0)
    cpu = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    assert vgg.count_parameters(cpu) == 3 * 3 * 3 * 8 + 8 + 8 * 2 + 2


def test_tied_weights_count_once():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.embed.weight  # tied

    model = Tied()
    assert vgg.count_parameters(model) == 40
    assert sum(p.numel() for p in model.parameters()) == 40
    shared = nn.Linear(3, 3)
    assert vgg.count_parameters(nn.Sequential(shared, shared)) == 12


def test_frozen_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    assert vgg.count_parameters(model) == 16 + 10
    assert vgg.count_parameters(model, trainable_only=True) == 10


@pytest.mark.parametrize("bad", [None, 3, "vgg11", torch.zeros(3), [nn.Linear(2, 2)]])
def test_not_a_module_is_a_type_error(bad):
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        vgg.count_parameters(bad)


def test_other_bad_inputs():
    with pytest.raises(TypeError, match="trainable_only must be True or False"):
        vgg.count_parameters(nn.Linear(2, 2), trainable_only="yes")
    with pytest.raises(ValueError, match="name must be a torchvision model builder"):
        vgg.build_on_meta("vgg12")
    with pytest.raises(TypeError, match="model must be a torchvision VGG"):
        vgg.layer_table(nn.Linear(2, 2))


def test_running_the_file_prints_the_total():
    out = run_snippet("vgg11_parameters")
    assert "total: 132,863,336" in out and "classifier.0" in out


# Issue 14: silent wrong answers and obscure errors.
ANALYTIC_BAD = [
    ("batch_norm string", dict(batch_norm="False"), TypeError, "batch_norm"),
    ("negative channels", dict(config=[-64, "M"]), ValueError, "config[0]"),
    ("float classes", dict(classes=10.5), TypeError, "classes"),
    ("zero classes", dict(classes=0), ValueError, "classes"),
    ("bool channels", dict(config=[True, "M"]), TypeError, "config[0]"),
    ("lower-case m", dict(config=[64, "m"]), ValueError, "config[1]"),
    ("config a string", dict(config="m"), TypeError, "config"),
    ("float channels", dict(config=[64.0, "M"]), TypeError, "config[0]"),
]


@pytest.mark.parametrize(
    "kwargs, exception, name", [b[1:] for b in ANALYTIC_BAD], ids=[b[0] for b in ANALYTIC_BAD]
)
def test_analytic_count_refuses_bad_input_naming_the_argument(kwargs, exception, name):
    args = dict(config=vgg.VGG_CONFIGS["vgg11"], batch_norm=False, classes=1000) | kwargs
    with pytest.raises(exception) as info:
        vgg.analytic_count(**args)
    assert str(info.value).startswith(name + " "), str(info.value)


def test_analytic_count_accepts_numpy_ints_and_returns_an_int():
    import numpy as np

    config = [np.int64(c) if c != "M" else c for c in vgg.VGG_CONFIGS["vgg11"]]
    count = vgg.analytic_count(config, np.True_, np.int32(1000))
    assert type(count) is int and count == vgg.analytic_count(vgg.VGG_CONFIGS["vgg11"], True)


FORMULA_LAYERS = [
    nn.Conv2d(4, 8, (1, 3)),
    nn.Conv2d(4, 8, 3, groups=4),
    nn.Conv2d(6, 9, (2, 5), groups=3, bias=False),
    nn.Conv1d(3, 5, 7),
    nn.Conv3d(2, 4, (1, 2, 3)),
    nn.Linear(7, 3),
    nn.Linear(7, 3, bias=False),
    nn.BatchNorm2d(16),
    nn.BatchNorm2d(16, affine=False),
    nn.BatchNorm1d(5),
    nn.ReLU(),
    nn.MaxPool2d(2),
]


@pytest.mark.parametrize("layer", FORMULA_LAYERS, ids=repr)
def test_each_formula_evaluates_to_the_layers_real_count(layer):
    text = vgg.formula(layer)
    value = 0 if text == "—" else eval(text.replace("·", "*"))  # noqa: S307 (our own text)
    assert value == sum(p.numel() for p in layer.parameters()), text


def test_formula_refuses_layers_it_cannot_explain():
    with pytest.raises(TypeError, match="layer must be"):
        vgg.formula(nn.LayerNorm(4))


@pytest.mark.parametrize("name", ["ResNet", "get_model", "VGG", "list_models", 11, None])
def test_build_on_meta_refuses_names_that_are_not_builders(name):
    with pytest.raises(ValueError, match="name must be a torchvision model builder"):
        vgg.build_on_meta(name)


def test_build_on_meta_names_a_model_that_cannot_be_built_on_meta():
    with pytest.raises(ValueError, match="name 'regnet_y_400mf': this model cannot be built"):
        vgg.build_on_meta("regnet_y_400mf")


def test_count_parameters_accepts_a_numpy_bool():
    import numpy as np

    layer = nn.Linear(2, 2)
    layer.bias.requires_grad_(False)
    assert vgg.count_parameters(layer, np.True_) == 4
    assert vgg.count_parameters(layer, np.False_) == 6


def test_count_parameters_counts_parameter_objects_as_documented():
    """Two Parameters sharing storage count twice; one Parameter used twice counts once."""
    a = nn.Linear(3, 3, bias=False)
    b = nn.Linear(3, 3, bias=False)
    b.weight = nn.Parameter(a.weight.data)  # a second Parameter on the same storage
    assert b.weight.data_ptr() == a.weight.data_ptr()
    assert vgg.count_parameters(nn.Sequential(a, b)) == 18
    b.weight = a.weight  # the same Parameter: tied
    assert vgg.count_parameters(nn.Sequential(a, b)) == 9
    assert "share storage count twice" in " ".join(vgg.count_parameters.__doc__.split())
