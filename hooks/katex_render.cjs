// Render many TeX formulas with KaTeX in one process (started by hooks/katex.py).
// stdin: JSON [[tex, displayMode], ...]; stdout: JSON [{html} | {error}, ...], same order.
// Output is HTML (laid out with KaTeX's own fonts) plus MathML for screen readers.
"use strict";
const fs = require("fs");
const katex = require("katex");

const items = JSON.parse(fs.readFileSync(0, "utf8"));
const results = items.map(([tex, displayMode]) => {
  try {
    const html = katex.renderToString(tex, {
      displayMode,
      output: "htmlAndMathml",
      throwOnError: true, // unknown TeX is an error, never red text on the page
      strict: "error", // so is input that LaTeX itself would reject
      trust: false,
    });
    return { html };
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
});
process.stdout.write(JSON.stringify({ version: katex.version, results }));
