"""Mirror test of snippets/conv2d.py: the sheet's answers, torch as an oracle, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import load_snippet, run_snippet
from hypothesis import given, settings
from hypothesis import strategies as st

conv = load_snippet("conv2d")

# The answers printed in the exercise sheet, typed in by hand.
SHEET_X = [[1, 2, -1, 1], [1, 0, 1, 0], [0, 1, 0, 2], [2, 1, 0, -1]]
SHEET_K = [[1, 0], [2, 1]]
SHEET_ANSWERS = {
    (1, 0): [[3, 3, 1], [2, 2, 3], [5, 3, -1]],  # (a)
    (2, 0): [[3, 1], [5, -1]],  # (b)
    (2, 1): [[1, 3, 2], [0, 2, 4], [0, 1, -1]],  # (c)
}
SHEET_PADDED = [
    [0, 0, 0, 0, 0, 0],
    [0, 1, 2, -1, 1, 0],
    [0, 1, 0, 1, 0, 0],
    [0, 0, 1, 0, 2, 0],
    [0, 2, 1, 0, -1, 0],
    [0, 0, 0, 0, 0, 0],
]


def torch_conv2d(x, kernel, stride, padding) -> np.ndarray:
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64))[None, None]
    kt = torch.as_tensor(np.asarray(kernel, dtype=np.float64))[None, None]
    return F.conv2d(xt, kt, stride=stride, padding=padding)[0, 0].numpy()


def test_snippet_holds_the_sheets_data():
    np.testing.assert_array_equal(
        conv.X, SHEET_X, err_msg="snippets/conv2d.py: X is not the sheet's"
    )
    np.testing.assert_array_equal(
        conv.K, SHEET_K, err_msg="snippets/conv2d.py: K is not the sheet's"
    )
    assert set(conv.CASES.values()) == set(SHEET_ANSWERS), "snippets/conv2d.py: CASES changed"


@pytest.mark.parametrize("case", ["a", "b", "c"])
def test_sheet_answers(case):
    stride, padding = conv.CASES[case]
    y = conv.conv2d(conv.X, conv.K, stride=stride, padding=padding)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(
        y, SHEET_ANSWERS[(stride, padding)], err_msg=f"snippets/conv2d.py: case ({case})"
    )


def test_sheet_padded_input():
    np.testing.assert_array_equal(conv.pad(conv.X, 1), SHEET_PADDED)


def test_true_convolution_differs_from_the_layer():
    flipped = conv.true_convolution(SHEET_X, SHEET_K)
    np.testing.assert_array_equal(flipped, conv.true_convolution_by_definition(SHEET_X, SHEET_K))
    np.testing.assert_array_equal(flipped, conv.conv2d(SHEET_X, [[1, 2], [0, 1]]))
    assert not np.array_equal(flipped, SHEET_ANSWERS[(1, 0)])


def test_to_latex_and_patch_table():
    assert conv.to_latex([[1, -2], [0.5, 3]]) == r"\begin{pmatrix} 1 & -2 \\ 0.5 & 3 \end{pmatrix}"
    table = conv.patch_table(SHEET_X, SHEET_K)
    assert table.count("\n") == 2 + 9 - 1  # header, rule, nine entries
    assert "| Y[3,3] | 3–4, 3–4 | 0 2 ; 0 −1 | 0·1 + 2·0 + 0·2 + (−1)·1 = **−1** |" in table
    assert "+ -" not in table


def test_running_the_file_prints_the_answers():
    out = run_snippet("conv2d")
    assert "(a) stride=1, padding=0" in out and "(c) stride=2, padding=1" in out
    assert "[[ 3  3  1]" in out  # integer matrices print as integers


@st.composite
def conv_cases(draw):
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    padding = draw(st.integers(0, 2))
    kh = draw(st.integers(1, h + 2 * padding))
    kw = draw(st.integers(1, w + 2 * padding))
    stride = draw(st.integers(1, 3))
    values = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=64)
    x = np.array(draw(st.lists(values, min_size=h * w, max_size=h * w))).reshape(h, w)
    k = np.array(draw(st.lists(values, min_size=kh * kw, max_size=kh * kw))).reshape(kh, kw)
    return x, k, stride, padding


@settings(max_examples=500, deadline=None, derandomize=True)
@given(conv_cases())
def test_agrees_with_torch(case):
    x, k, stride, padding = case
    y = conv.conv2d(x, k, stride=stride, padding=padding)
    expected = torch_conv2d(x, k, stride, padding)
    assert y.shape == expected.shape
    assert y.shape == (
        conv.output_size(x.shape[0], k.shape[0], stride, padding),
        conv.output_size(x.shape[1], k.shape[1], stride, padding),
    )
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", [0, 1, 2])
def test_output_size_formula_agrees_with_torch(stride, padding):
    """The formula alone (conv2d does not use it) against the shape torch returns."""
    for n in range(1, 9):
        for k in range(1, n + 2 * padding + 1):
            x, kernel = torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k)
            o = F.conv2d(x, kernel, stride=stride, padding=padding).shape[-1]
            assert conv.output_size(n, k, stride, padding) == o, (n, k, stride, padding)


def test_core_loop_is_the_layer_without_checks():
    padded = conv.pad(SHEET_X, 1)
    np.testing.assert_array_equal(
        conv.cross_correlate(padded, np.array(SHEET_K, dtype=float), 2), SHEET_ANSWERS[(2, 1)]
    )


@settings(max_examples=100, deadline=None, derandomize=True)
@given(conv_cases())
def test_true_convolution_matches_its_definition(case):
    x, k, _, padding = case
    if k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]:
        return
    np.testing.assert_allclose(
        conv.true_convolution(x, k), conv.true_convolution_by_definition(x, k), atol=1e-10
    )


GOOD = np.ones((4, 4))
BAD_INPUTS = [
    # (description, kwargs, exception, the argument the message must name)
    ("x is 1-D", dict(x=np.ones(4)), ValueError, "x"),
    ("x is 3-D", dict(x=np.ones((1, 4, 4))), ValueError, "x"),
    ("kernel is 1-D", dict(kernel=np.ones(2)), ValueError, "kernel"),
    ("x is empty", dict(x=np.ones((0, 4))), ValueError, "x"),
    ("x is ragged", dict(x=[[1, 2], [3]]), ValueError, "x"),
    ("kernel larger than input", dict(kernel=np.ones((5, 5))), ValueError, "kernel"),
    (
        "kernel larger than padded input",
        dict(kernel=np.ones((7, 7)), padding=1),
        ValueError,
        "kernel",
    ),
    ("stride 0", dict(stride=0), ValueError, "stride"),
    ("stride negative", dict(stride=-2), ValueError, "stride"),
    ("padding negative", dict(padding=-1), ValueError, "padding"),
    ("stride float", dict(stride=1.5), TypeError, "stride"),
    ("stride integral float", dict(stride=2.0), TypeError, "stride"),
    ("stride string", dict(stride="2"), TypeError, "stride"),
    ("stride bool", dict(stride=True), TypeError, "stride"),
    ("padding float", dict(padding=0.5), TypeError, "padding"),
    ("padding None", dict(padding=None), TypeError, "padding"),
    ("x strings", dict(x=np.full((4, 4), "a")), TypeError, "x"),
    ("x objects", dict(x=np.array([[object()] * 4] * 4)), TypeError, "x"),
    ("x complex", dict(x=np.ones((4, 4)) * 1j), TypeError, "x"),
    ("x bool", dict(x=np.ones((4, 4), dtype=bool)), TypeError, "x"),
    ("kernel strings", dict(kernel=[["a", "b"], ["c", "d"]]), TypeError, "kernel"),
    ("x NaN", dict(x=np.where(np.eye(4) > 0, np.nan, 1.0)), ValueError, "x"),
    ("x inf", dict(x=np.where(np.eye(4) > 0, np.inf, 1.0)), ValueError, "x"),
    ("kernel -inf", dict(kernel=[[1.0, -np.inf], [0.0, 1.0]]), ValueError, "kernel"),
    ("kernel NaN", dict(kernel=[[np.nan, 0.0], [0.0, 1.0]]), ValueError, "kernel"),
]


@pytest.mark.parametrize(
    "kwargs, exception, name", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS]
)
def test_bad_input_is_refused_naming_the_argument(kwargs, exception, name):
    args = dict(x=GOOD, kernel=np.ones((2, 2)), stride=1, padding=0) | kwargs
    with pytest.raises(exception) as info:
        conv.conv2d(**args)
    assert str(info.value).startswith(name + " "), str(info.value)


def test_numpy_integer_stride_and_lists_are_accepted():
    y = conv.conv2d(SHEET_X, SHEET_K, stride=np.int64(2), padding=np.int32(1))
    np.testing.assert_array_equal(y, SHEET_ANSWERS[(2, 1)])


# Issue 14: silent wrong answers and obscure errors.
CONV_HOSTILE = [
    # (description, x, exception, the argument the message must name)
    ("masked array", np.ma.masked_array(np.ones((4, 4)), mask=np.eye(4)), TypeError, "x"),
    (
        "longdouble 1e400 overflows float64",
        np.full((4, 4), np.longdouble("1e400")),
        ValueError,
        "x",
    ),
    ("tensor that requires grad", torch.ones(4, 4, requires_grad=True), TypeError, "x"),
    ("bfloat16 tensor", torch.ones(4, 4, dtype=torch.bfloat16), TypeError, "x"),
]


@pytest.mark.parametrize(
    "x, exception, name", [b[1:] for b in CONV_HOSTILE], ids=[b[0] for b in CONV_HOSTILE]
)
def test_hostile_input_is_refused_naming_the_argument(x, exception, name):
    with pytest.raises(exception) as info:
        conv.conv2d(x, np.ones((2, 2)))
    assert str(info.value).startswith(name + " "), str(info.value)
    with pytest.raises(exception) as info:
        conv.conv2d(np.ones((4, 4)), x[:2, :2])
    assert str(info.value).startswith("kernel "), str(info.value)


OUTPUT_SIZE_BAD = [
    ("kernel longer than input (2, 5)", (2, 5), ValueError, "k"),
    ("stride 1.5", (5, 3, 1.5), TypeError, "stride"),
    ("stride -1", (5, 3, -1), ValueError, "stride"),
    ("stride 0", (5, 3, 0), ValueError, "stride"),
    ("array for n", (np.arange(3), 2), TypeError, "n"),
    ("n 0", (0, 1), ValueError, "n"),
    ("k 0", (3, 0), ValueError, "k"),
    ("padding -1", (5, 3, 1, -1), ValueError, "padding"),
    ("bool n", (True, 1), TypeError, "n"),
    ("float n", (5.0, 3), TypeError, "n"),
]


@pytest.mark.parametrize(
    "args, exception, name", [b[1:] for b in OUTPUT_SIZE_BAD], ids=[b[0] for b in OUTPUT_SIZE_BAD]
)
def test_output_size_validates_as_conv2d_does(args, exception, name):
    with pytest.raises(exception) as info:
        conv.output_size(*args)
    assert str(info.value).startswith(name + " "), str(info.value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(conv_cases())
def test_fast_conv2d_agrees_with_the_readable_loop(case):
    """conv2d (sliding windows + einsum) against cross_correlate, the loop on the page."""
    x, k, stride, padding = case
    expected = conv.cross_correlate(np.pad(x, padding), k, stride)
    np.testing.assert_allclose(conv.conv2d(x, k, stride, padding), expected, rtol=1e-12, atol=1e-10)


def test_fast_conv2d_on_a_large_input_agrees_with_torch():
    rng = np.random.default_rng(14)
    x, k = rng.standard_normal((300, 257)), rng.standard_normal((5, 3))
    for stride, padding in ((1, 0), (2, 1), (3, 2)):
        np.testing.assert_allclose(
            conv.conv2d(x, k, stride, padding),
            torch_conv2d(x, k, stride, padding),
            rtol=1e-11,
            atol=1e-11,
        )
