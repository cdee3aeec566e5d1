# "Check your answer" boxes: an HTML form per answer, with the expected value written
# into the page by this build (JSON in data-expected), from what the snippet computed.
# docs/assets/self-check.js checks what the student types; nothing is typed by hand here.
import html as _html
import json as _json


def _number(value):
    """A plain int or float for JSON (NumPy scalars and integral floats included)."""
    value = float(value) if not isinstance(value, int) else value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def self_check(key: str, label: str, expected, *, rel_tol: float = 0.0, instructions: str = "") -> str:
    """One form. ``expected`` is a number, or a matrix (a list of rows, or a 2-D array):
    a matrix gets a textarea, rows on separate lines. ``rel_tol`` is the relative
    tolerance for a real-valued answer (0: exact)."""
    if hasattr(expected, "tolist"):
        expected = expected.tolist()
    is_matrix = isinstance(expected, list)
    if is_matrix:
        expected = [[_number(v) for v in row] for row in expected]
        assert expected and all(len(row) == len(expected[0]) for row in expected), expected
        instructions = instructions or (
            "One row per line, entries separated by spaces or commas (or paste what NumPy "
            "or PyTorch prints). Ctrl+Enter (or the button) checks."
        )
        field = (
            f'<textarea id="check-{key}" name="answer" rows="4" cols="16" '
            f'aria-describedby="check-{key}-help" spellcheck="false" autocomplete="off" '
            'autocapitalize="off"></textarea>'
        )
    else:
        expected = _number(expected)
        instructions = instructions or "A number; Enter checks."
        field = (
            f'<input id="check-{key}" name="answer" type="text" inputmode="decimal" '
            f'aria-describedby="check-{key}-help" spellcheck="false" autocomplete="off">'
        )
    data = _html.escape(_json.dumps(expected), quote=True)
    return (
        f'<form class="self-check-form" data-kind="{"matrix" if is_matrix else "number"}" '
        f'data-expected="{data}" data-rel-tol="{rel_tol:g}" novalidate>\n'
        f'<label for="check-{key}">{_html.escape(label)}</label>\n'
        f'<span class="self-check__help" id="check-{key}-help">{_html.escape(instructions)}</span>\n'
        f'<span class="self-check__row">{field}\n'
        '<button type="submit" class="md-button self-check-button">Check</button></span>\n'
        '<p class="self-check__feedback" role="status" aria-live="polite"></p>\n'
        "</form>"
    )


def self_check_box(intro: str, *forms: str) -> str:
    """The "Check your answer" box: Markdown (``intro``, math allowed), then the forms."""
    body = "\n\n".join(forms)
    return (
        '<div class="admonition question self-check" markdown>\n'
        '<p class="admonition-title">Check your answer</p>\n\n'
        f"{intro}\n\n{body}\n\n</div>"
    )
