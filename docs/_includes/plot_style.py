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


def svg(fig, salt: str) -> str:
    """The figure as inline SVG: stable ids (``salt``), no date, ink in currentColor."""
    plt.rcParams["svg.hashsalt"] = salt  # the same ids on every build
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    plt.close(fig)
    return buffer.getvalue().replace(INK, "currentColor")
