# Plots on the site: SVG with text as text, drawn on a transparent background in the
# page's own text colour, so that they read in the light and the dark palette alike.
import io

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

INK = "#010203"  # stands for the page's text colour; becomes currentColor in the SVG
plt.rcParams.update({
    "svg.fonttype": "none",  # text as text: small, selectable
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.transparent": True,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.facecolor": "none",
    "legend.edgecolor": INK,
})


# Matplotlib writes this style sheet into every SVG. Inline in a page it is a style sheet of
# the page: it applies to every element (`*`), and each one the browser meets restyles the
# whole page. On the root <svg> the same two properties reach every shape by inheritance.
MPL_STYLE = '<defs>\n  <style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style>\n </defs>\n'
ROOT_STROKE = '<svg stroke-linejoin="round" stroke-linecap="butt" '


def svg(fig, salt: str) -> str:
    """The figure as inline SVG: stable ids (``salt``), no date, ink in currentColor, no
    style sheet."""
    plt.rcParams["svg.hashsalt"] = salt  # the same ids on every build
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    if text.count(MPL_STYLE) != 1 or "<style" in text.replace(MPL_STYLE, ""):
        raise ValueError("matplotlib's SVG style sheet changed: update MPL_STYLE in plot_style.py")
    text = text.replace(MPL_STYLE, "").replace("<svg ", ROOT_STROKE, 1)
    return text.replace(INK, "currentColor")
