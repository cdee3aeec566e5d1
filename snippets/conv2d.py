# %% [markdown]
# # Exercise 2: a 2-D convolution
#
# Consider the following $4 \times 4 \times 1$ input $X$ and a $2 \times 2 \times 1$
# convolutional kernel $K$ with no bias term (the next cell holds both).
#
# - **(a)** What is the output of the convolutional layer for the case of stride 1 and
#   no padding?
# - **(b)** What if we have stride 2 and no padding?
# - **(c)** What if we have stride 2 and zero-padding of size 1?
#
# The exercise's web page runs this same code and checks its answers. It needs only NumPy.

# %%
from __future__ import annotations

import numbers

import numpy as np

# %% [markdown]
# ## The data
#
# The input X (4×4) and kernel K (2×2) from the sheet, and its three cases as
# `(stride, padding)`.

# %%
# --8<-- [start:data]
X = np.array(
    [
        [1, 2, -1, 1],
        [1, 0, 1, 0],
        [0, 1, 0, 2],
        [2, 1, 0, -1],
    ]
)
K = np.array(
    [
        [1, 0],
        [2, 1],
    ]
)
CASES = {"a": (1, 0), "b": (2, 0), "c": (2, 1)}  # case: (stride, padding)
# --8<-- [end:data]

# %% [markdown] tags=["your-turn"]
# ## Your turn
#
# Work (a) by hand first: the output has $\lfloor (n + 2p - k)/s \rfloor + 1$ rows.
# Then write the layer and let it check your hand calculation.

# %% tags=["your-turn"]
# Write conv2d(x, kernel, stride=1, padding=0): pad x with zeros, then slide the
# kernel over it (without flipping it, as deep-learning libraries do), multiplying
# entry by entry and adding up. Then print it for each case:
#
# for case, (stride, padding) in CASES.items():
#     print(case, conv2d(X, K, stride=stride, padding=padding))

# %% [markdown] tags=["solution"]
# ## The solution
#
# The layer itself, a loop over the output entries. It follows the deep-learning
# convention: it slides the kernel over the input **without flipping it** (a
# cross-correlation), like `torch.nn.functional.conv2d`.


# %% tags=["solution"]
# --8<-- [start:core]
def cross_correlate(padded: np.ndarray, kernel: np.ndarray, stride: int) -> np.ndarray:
    """The layer itself: slide ``kernel`` over ``padded`` by ``stride``; no checks, no padding."""
    (ph, pw), (kh, kw) = padded.shape, kernel.shape
    out = np.zeros(((ph - kh) // stride + 1, (pw - kw) // stride + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            patch = padded[i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[i, j] = np.sum(patch * kernel)  # multiply entry by entry, add up
    return out


# --8<-- [end:core]

# %% [markdown] tags=["solution"]
# The same layer without a Python loop, with its inputs checked: the core function
# `conv2d` first, then the helpers it calls.


# %% tags=["solution"]
# --8<-- [start:conv2d]
def conv2d(x: object, kernel: object, stride: int = 1, padding: int = 0) -> np.ndarray:
    """2-D convolution as deep learning defines it (cross-correlation, no flip).

    ``x`` and ``kernel`` are 2-D (single channel, no batch); there is no bias.
    Returns a float64 array of shape
    ``(output_size(H, kh, stride, padding), output_size(W, kw, stride, padding))``,
    the same numbers as the loop ``cross_correlate``, computed without a Python loop:
    a strided view of every kernel-sized window of the padded input (no copy), then
    one ``einsum`` that multiplies each window by the kernel and sums.

    Refuses with ``TypeError``: non-numeric, bool, complex or masked arrays, tensors
    NumPy cannot read, a non-integer ``stride`` or ``padding``. With ``ValueError``:
    ragged, empty or non-2-D arrays, NaN or inf (after the cast to float64), ``stride``
    below 1, negative ``padding``, a kernel larger than the padded input.
    """
    x = _as_matrix(x, "x")
    kernel = _as_matrix(kernel, "kernel")
    stride = _as_int(stride, "stride", 1)
    padding = _as_int(padding, "padding", 0)
    padded = np.pad(x, padding, mode="constant", constant_values=0.0)
    if kernel.shape[0] > padded.shape[0] or kernel.shape[1] > padded.shape[1]:
        raise ValueError(
            f"kernel of shape {kernel.shape} is larger than the padded input "
            f"of shape {padded.shape}"
        )
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel.shape)
    return np.einsum("ijab,ab->ij", windows[::stride, ::stride], kernel)


def output_size(n: int, k: int, stride: int = 1, padding: int = 0) -> int:
    """Output length along one axis: floor((n + 2p - k) / s) + 1.

    Refuses (``TypeError``) non-integers, bools and arrays, and (``ValueError``)
    ``n`` or ``k`` below 1, ``stride`` below 1, negative ``padding``, and a kernel
    longer than the padded input, as ``conv2d`` does.
    """
    n, k = _as_int(n, "n", 1), _as_int(k, "k", 1)
    stride, padding = _as_int(stride, "stride", 1), _as_int(padding, "padding", 0)
    if k > n + 2 * padding:
        raise ValueError(f"k must be <= n + 2 * padding = {n + 2 * padding}, got {k}")
    return (n + 2 * padding - k) // stride + 1


def pad(x: np.ndarray, padding: int) -> np.ndarray:
    """Surround a 2-D array with ``padding`` rows and columns of zeros.

    Refuses what ``conv2d`` refuses for ``x`` and ``padding``.
    """
    x = _as_matrix(x, "x")
    padding = _as_int(padding, "padding", 0)
    return np.pad(x, padding, mode="constant", constant_values=0.0)


def _as_matrix(value: object, name: str) -> np.ndarray:
    """Return ``value`` as a finite 2-D float64 array, or raise naming ``name``."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name} must not be a masked array: the mask would be ignored")
    try:
        array = np.asarray(value)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular 2-D array: {error}") from None
    except (TypeError, RuntimeError) as error:  # e.g. a tensor that requires grad, bfloat16
        raise TypeError(
            f"{name} must be an array NumPy can read (for a tensor t, "
            f"t.detach().double().numpy()): {error}"
        ) from None
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got {array.ndim}-D with shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    with np.errstate(over="ignore"):  # finiteness is checked after the cast (longdouble 1e400)
        array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must not contain NaN or inf (as float64)")
    return array


def _as_int(value: object, name: str, minimum: int) -> int:
    """Return ``value`` as an int >= ``minimum``, or raise naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


# --8<-- [end:conv2d]


# --8<-- [start:extras]
def true_convolution(x: object, kernel: object) -> np.ndarray:
    """The mathematicians' convolution ("valid" part): flip the kernel, then slide it.

    Refuses what ``conv2d`` refuses for ``x`` and ``kernel``.
    """
    kernel = _as_matrix(kernel, "kernel")
    return conv2d(x, kernel[::-1, ::-1])


def true_convolution_by_definition(x: object, kernel: object) -> np.ndarray:
    """Same as ``true_convolution`` but from the definition (x*k)[n] = sum_m x[m] k[n-m].

    Builds the full convolution by adding shifted copies of ``x`` and keeps the
    entries where the kernel lies inside ``x``. No flipping and no call to
    ``conv2d``: an independent check. Refuses what ``conv2d`` refuses for ``x`` and
    ``kernel``, and a kernel larger than ``x``.
    """
    x = _as_matrix(x, "x")
    kernel = _as_matrix(kernel, "kernel")
    (h, w), (kh, kw) = x.shape, kernel.shape
    if kh > h or kw > w:
        raise ValueError(f"kernel of shape {kernel.shape} is larger than x of shape {x.shape}")
    full = np.zeros((h + kh - 1, w + kw - 1))
    for a in range(kh):
        for b in range(kw):
            full[a : a + h, b : b + w] += kernel[a, b] * x
    return full[kh - 1 : h, kw - 1 : w]


def patch_table(x: object, kernel: object, stride: int = 1, padding: int = 0) -> str:
    """A Markdown table: for each output entry, the input patch and the sum it gives.

    Refuses what ``conv2d`` refuses.
    """
    kernel_arr = _as_matrix(kernel, "kernel")
    padded = pad(x, padding)
    y = conv2d(x, kernel_arr, stride, padding)
    kh, kw = kernel_arr.shape
    rows = [
        "| output entry | input rows, columns | patch | patch ⊙ K, summed |",
        "|---|---|---|---|",
    ]
    for i in range(y.shape[0]):
        for j in range(y.shape[1]):
            r, c = i * stride, j * stride
            patch = padded[r : r + kh, c : c + kw]
            terms = " + ".join(
                f"{_factor(p)}·{_factor(k)}"
                for p, k in zip(patch.ravel(), kernel_arr.ravel(), strict=True)
            )
            shown = " ; ".join(" ".join(_fmt(v).replace("-", "−") for v in row) for row in patch)
            rows.append(
                f"| Y[{i + 1},{j + 1}] | {r + 1}–{r + kh}, {c + 1}–{c + kw} | {shown} "
                f"| {terms} = **{_fmt(y[i, j]).replace('-', '−')}** |"
            )
    return "\n".join(rows)


def _fmt(value: float) -> str:
    """Integers without a trailing .0; other numbers with up to 6 significant digits."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.6g}"


def _factor(value: float) -> str:
    """A factor in a product as text: a negative one in brackets, with a minus sign."""
    return f"(−{_fmt(-value)})" if value < 0 else _fmt(value)


def to_latex(matrix: object) -> str:
    """A 2-D array as a LaTeX ``pmatrix``; refuses what ``conv2d`` refuses for ``x``."""
    m = _as_matrix(matrix, "matrix")
    body = r" \\ ".join(" & ".join(_fmt(v) for v in row) for row in m)
    return r"\begin{pmatrix} " + body + r" \end{pmatrix}"


# --8<-- [end:extras]


# %% [markdown] tags=["solution"]
# ## The answers

# %% tags=["solution"]
if __name__ == "__main__":

    def whole(m: np.ndarray) -> np.ndarray:
        """``m`` as integers when every entry is whole, so it prints `3`, not `3.`."""
        return m.astype(int) if np.array_equal(m, np.round(m)) else m

    for case, (stride, padding) in CASES.items():
        print(f"({case}) stride={stride}, padding={padding}")
        print(whole(conv2d(X, K, stride=stride, padding=padding)))
    print("padded X for (c):")
    print(whole(pad(X, 1)))
    print("true (flipped-kernel) convolution for (a):")
    print(whole(true_convolution(X, K)))
