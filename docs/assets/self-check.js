/* "Check your answer": compares what the student typed with the value this build
   computed (JSON in the form's data-expected attribute, written by the build).
   No eval, no network: the input is parsed by hand, and every outcome, malformed
   input included, is a sentence in the form's aria-live region. */
(function () {
  "use strict";

  var DIGITS = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
  var GROUPED = /^[+-]?\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?$/; // 1,234 or 1 234 (thousands)

  /* One number as people write it: -, − or –; 1,234 / 1 234; 1.5e-3; a fraction a/b.
     Returns {value} or {error}. (In a matrix box commas split entries before this.) */
  function parseNumber(raw) {
    var text = String(raw)
      .replace(/[\u2212\u2013\u2012\uFE63\uFF0D]/g, "-") // minus signs and dashes
      .replace(/[\u00A0\u2007\u2009\u202F]/g, " ") // no-break and thin spaces
      .trim();
    if (text === "") return { error: "empty" };
    var slash = text.split("/");
    if (slash.length === 2) {
      var top = parseNumber(slash[0]);
      var bottom = parseNumber(slash[1]);
      if (top.error || bottom.error) return { error: "not a number" };
      if (bottom.value === 0) return { error: "division by zero" };
      return { value: top.value / bottom.value };
    }
    if (slash.length > 2) return { error: "not a number" };
    if (GROUPED.test(text)) text = text.replace(/[, ]/g, "");
    if (/^[+-]?\d+,\d+$/.test(text)) return { error: "decimal comma" };
    if (!DIGITS.test(text)) return { error: "not a number" };
    return { value: Number(text) };
  }

  function close(got, want, relTol) {
    if (relTol > 0) return Math.abs(got - want) <= relTol * Math.max(Math.abs(want), 1e-300);
    return Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
  }

  function quote(text) {
    return "\u201C" + (text.length > 20 ? text.slice(0, 20) + "\u2026" : text) + "\u201D";
  }

  function listAnd(items) {
    if (items.length <= 1) return items.join("");
    return items.slice(0, -1).join("; ") + " and " + items[items.length - 1];
  }

  function checkNumber(raw, want, relTol) {
    var got = parseNumber(raw);
    if (got.error === "empty") return { ok: false, text: "Type your answer first." };
    if (got.error === "decimal comma")
      return { ok: false, text: "Write decimals with a point: 2.5, not 2,5." };
    if (got.error === "division by zero") return { ok: false, text: "That divides by zero." };
    if (got.error)
      return {
        ok: false,
        text: quote(raw.trim()) + " is not a number. Write digits, e.g. 1234, 1,234 or \u22120.5.",
      };
    if (close(got.value, want, relTol)) return { ok: true, text: "Correct." };
    if (relTol > 0)
      return { ok: false, text: "Not yet: that does not match the answer to three significant figures. Try again." };
    return { ok: false, text: "Not yet: that is not the answer. Try again." };
  }

  // A matrix pasted from Python (NumPy's array, PyTorch's tensor or a nested list): keep
  // the numbers, one row per line.
  function unwrap(raw) {
    return raw
      .replace(/\]\s*,?\s*\[/g, "\n")
      .replace(/\b(?:tensor|array)\(/g, " ")
      .replace(/,?\s*dtype\s*=\s*[\w.]+/g, " ")
      .replace(/[\[\]()]/g, " ");
  }

  function checkMatrix(raw, want, relTol) {
    var lines = unwrap(raw)
      .split(/\r?\n|;/)
      .map(function (line) { return line.trim(); })
      .filter(function (line) { return line !== ""; });
    if (lines.length === 0) return { ok: false, text: "Type your answer first." };
    var rows = want.length;
    var cols = want[0].length;
    var shape = rows + " rows of " + cols + " entries";
    var typed = lines.map(function (line) {
      return line.split(/[\s,]+/).filter(function (e) { return e !== ""; });
    });
    // Something that is not a number is named first, wherever it is.
    for (var r = 0; r < typed.length; r++) {
      for (var c = 0; c < typed[r].length; c++) {
        if (parseNumber(typed[r][c]).error)
          return {
            ok: false,
            text: "Row " + (r + 1) + ", entry " + (c + 1) + ": " + quote(typed[r][c]) +
              " is not a number.",
          };
      }
    }
    if (lines.length !== rows)
      return {
        ok: false,
        text: "Wrong shape: " + lines.length + (lines.length === 1 ? " row" : " rows") +
          " typed, the answer has " + shape + " (one row per line).",
      };
    var wrong = [];
    for (var i = 0; i < rows; i++) {
      var entries = typed[i];
      if (entries.length !== cols)
        return {
          ok: false,
          text: "Wrong shape: row " + (i + 1) + " has " + entries.length +
            (entries.length === 1 ? " entry" : " entries") + ", the answer has " + shape + ".",
        };
      for (var j = 0; j < cols; j++) {
        if (!close(parseNumber(entries[j]).value, want[i][j], relTol))
          wrong.push("row " + (i + 1) + ", column " + (j + 1));
      }
    }
    if (wrong.length === 0) return { ok: true, text: "Correct." };
    var many = wrong.length === 1 ? " is wrong." : " are wrong.";
    var first = wrong.length > 4 ? wrong.slice(0, 4).concat(["more"]) : wrong;
    return { ok: false, text: "Not yet: " + listAnd(first) + many };
  }

  function check(form) {
    var field = form.querySelector("[name=answer]");
    var feedback = form.querySelector(".self-check__feedback");
    if (!field || !feedback) return;
    var result;
    try {
      var want = JSON.parse(form.getAttribute("data-expected"));
      var relTol = Number(form.getAttribute("data-rel-tol")) || 0;
      result = form.getAttribute("data-kind") === "matrix"
        ? checkMatrix(field.value, want, relTol)
        : checkNumber(field.value, want, relTol);
    } catch (error) {
      result = { ok: false, text: "This box could not check the answer." };
    }
    feedback.textContent = result.text;
    feedback.classList.toggle("self-check__feedback--ok", result.ok);
    feedback.classList.toggle("self-check__feedback--wrong", !result.ok);
    field.setAttribute("aria-invalid", result.ok ? "false" : "true");
  }

  // Delegated, so it needs no set-up per page (and works with instant navigation).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("self-check-form")) return;
    event.preventDefault();
    check(form);
  });
  // In a matrix box Enter starts a new row; Ctrl+Enter (or Cmd+Enter) checks.
  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    if (!(field instanceof HTMLTextAreaElement)) return;
    var form = field.closest("form.self-check-form");
    if (!form) return;
    event.preventDefault();
    check(form);
  });

  window.selfCheck = { parseNumber: parseNumber }; // for the tests
})();
