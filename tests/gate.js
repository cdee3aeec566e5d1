// The browser gate's measurements, run inside each page (tests/test_browser.py).
// Everything here is geometry and computed style: it does not know which engine
// typeset the math, only what the reader can see.
(() => {
  // Text here may quote TeX on purpose (code), or is never shown (scripts, a notebook
  // cell's hidden copy for its copy button).
  const SKIP = "pre, code, script, style, textarea, .clipboard-copy-txt";
  const TEX = /\$|\\[A-Za-z]+|\\\(|\\\[|\^\{|_\{/g;
  // Display math, whatever typeset it; the outermost of nested matches is the formula.
  const DISPLAY =
    ".math-display, .katex-display, math[display='block'], mjx-container[display='true'], div.arithmatex";
  const RELATIONS = new Set("=≤≥<>≈≡≠∝→⇒⟹≅∼≔⩽⩾≃⟶⇔⟺");
  const SHOWN = { opacityProperty: true, visibilityProperty: true };
  const INF = { l: -Infinity, t: -Infinity, r: Infinity, b: Infinity };

  const cut = (a, b) => ({
    l: Math.max(a.l, b.l),
    t: Math.max(a.t, b.t),
    r: Math.min(a.r, b.r),
    b: Math.min(a.b, b.b),
  });
  const px = (v, edge) => (v === "auto" ? edge : parseFloat(v));

  // The part of the viewport where an element's content can be seen: cut by every
  // ancestor that clips (overflow hidden/clip, a `clip` rectangle). A scroll container
  // (overflow auto/scroll) hides nothing, since the reader can scroll, unless it has
  // no room at all. null: nothing of it can be seen.
  let clips = new Map();
  function clipOf(el) {
    if (!el || el === document.documentElement) return INF;
    if (clips.has(el)) return clips.get(el);
    let box = clipOf(el.parentElement);
    if (box) {
      const cs = getComputedStyle(el);
      const r = el.getBoundingClientRect();
      const inline = (r.width > 0 || r.height > 0) && el.clientWidth === 0 && el.clientHeight === 0;
      if (cs.clip.startsWith("rect(") && ["absolute", "fixed"].includes(cs.position)) {
        const [t, rt, b, l] = cs.clip.slice(5, -1).split(/[\s,]+/);
        box = cut(box, {
          t: r.top + px(t, 0),
          r: r.left + px(rt, r.width),
          b: r.top + px(b, r.height),
          l: r.left + px(l, 0),
        });
      }
      if (!inline && (cs.overflowX !== "visible" || cs.overflowY !== "visible")) {
        const pad = {
          l: r.left + el.clientLeft,
          t: r.top + el.clientTop,
          r: r.left + el.clientLeft + el.clientWidth,
          b: r.top + el.clientTop + el.clientHeight,
        };
        const hides = (o) => o === "hidden" || o === "clip";
        if (hides(cs.overflowX)) box = cut(box, { ...INF, l: pad.l, r: pad.r });
        else if (cs.overflowX !== "visible" && el.clientWidth <= 1) box = null;
        if (box && hides(cs.overflowY)) box = cut(box, { ...INF, t: pad.t, b: pad.b });
        else if (box && cs.overflowY !== "visible" && el.clientHeight <= 1) box = null;
      }
      if (box && (box.r - box.l <= 1 || box.b - box.t <= 1)) box = null;
    }
    clips.set(el, box);
    return box;
  }

  // The visible part of a client rect of something inside `el`, or null.
  function seen(rect, el) {
    const box = clipOf(el);
    if (!box || rect.width === 0 || rect.height === 0) return null;
    if (rect.right + scrollX <= 0 || rect.bottom + scrollY <= 0) return null; // off the page
    const v = cut(box, { l: rect.left, t: rect.top, r: rect.right, b: rect.bottom });
    return v.r - v.l > 1 && v.b - v.t > 1 ? v : null;
  }

  const range = document.createRange();

  // A short name for an element: a CSS-like path and the section it is in.
  function describe(el) {
    const parts = [];
    for (let e = el; e && parts.length < 3 && !e.matches("article, .md-content"); e = e.parentElement) {
      let s = e.localName;
      if (e.id) s += `#${e.id}`;
      else if (e.classList.length) s += `.${[...e.classList].slice(0, 2).join(".")}`;
      parts.unshift(s);
    }
    let section = "";
    for (const h of document.querySelectorAll("article h1, article h2, article h3")) {
      if (h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING) section = h.textContent;
    }
    section = section.replace(/¶$/, "").trim();
    return parts.join(" > ") + (section ? ` (under "${section}")` : "");
  }

  const textNodes = function* (root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) yield n;
  };

  // 1. TeX that the reader can see: `$`, a backslash command, \( \[ ^{ _{.
  function tex(root) {
    const found = [];
    for (const node of textNodes(root)) {
      const el = node.parentElement;
      if (!el || el.closest(SKIP)) continue;
      for (const m of node.data.matchAll(TEX)) {
        if (!el.checkVisibility(SHOWN)) break;
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        if (![...range.getClientRects()].some((r) => seen(r, el))) continue;
        const context = node.data
          .slice(Math.max(0, m.index - 30), m.index + m[0].length + 30)
          .replace(/\s+/g, " ")
          .trim();
        found.push(`${JSON.stringify(m[0])} in "${context}" at ${describe(el)}`);
      }
    }
    return found;
  }

  // Every visible character of a formula, with its box and font size, in document order.
  function glyphs(formula) {
    const out = [];
    for (const node of textNodes(formula)) {
      const el = node.parentElement;
      if (!el || !el.checkVisibility(SHOWN)) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      const chars = [...node.data];
      let i = 0;
      for (const ch of chars) {
        const at = i;
        i += ch.length;
        if (/\s/.test(ch)) continue;
        range.setStart(node, at);
        range.setEnd(node, at + ch.length);
        const r = range.getBoundingClientRect();
        if (!seen(r, el)) continue;
        out.push({ ch, size, l: r.left, r: r.right, t: r.top, b: r.bottom, y: (r.top + r.bottom) / 2 });
      }
    }
    return out;
  }

  // 2. In a formula with several rows of relations, the relation signs that begin
  // continuation rows ("= ..." with nothing to their left) share one x, and it is
  // the x of a relation sign on the first row.
  function alignment(root) {
    const found = [];
    const all = [...root.querySelectorAll(DISPLAY)];
    const formulas = all.filter((f) => !all.some((g) => g !== f && g.contains(f)));
    formulas.forEach((formula, index) => {
      if (!formula.checkVisibility(SHOWN)) return;
      const gs = glyphs(formula);
      let rels = [];
      for (let k = 0; k < gs.length; k++) {
        const g = gs[k];
        const next = gs[k + 1];
        if (g.ch === ":" && next && next.ch === "=" && next.l - g.r < 0.4 * g.size) {
          rels.push({ ...g, ch: ":=", r: next.r });
          k++;
        } else if (RELATIONS.has(g.ch)) rels.push(g);
      }
      if (!rels.length) return;
      const main = Math.max(...rels.map((g) => g.size));
      rels = rels.filter((g) => g.size >= 0.9 * main).sort((a, b) => a.y - b.y);
      const rows = [];
      for (const g of rels) {
        const row = rows[rows.length - 1];
        if (row && Math.abs(g.y - row[0].y) < 0.3 * main) row.push(g);
        else rows.push([g]);
      }
      if (rows.length < 2) return;
      rows.forEach((row) => row.sort((a, b) => a.l - b.l));
      const starts = [];
      for (const row of rows.slice(1)) {
        const first = row[0];
        const half = 0.3 * (first.b - first.t);
        const top = first.y - half;
        const bottom = first.y + half;
        const before = gs.some((g) => g.l < first.l - 1 && g.t < bottom && g.b > top);
        if (!before) starts.push(first);
      }
      if (!starts.length) return;
      const xs = starts.map((g) => g.l);
      const firstRow = rows[0].map((g) => g.l);
      const agree = Math.max(...xs) - Math.min(...xs) <= 1;
      const onFirst = firstRow.some((x) => Math.abs(x - xs[0]) <= 1);
      if (!(agree && onFirst)) {
        const text = gs.map((g) => g.ch).join("").slice(0, 50);
        const f = (v) => v.toFixed(1);
        found.push(
          `display formula #${index + 1} "${text}…" at ${describe(formula)}: ` +
            `continuation rows begin with ${starts.map((g) => `${g.ch} at x=${f(g.l)}`).join(", ")}; ` +
            `first row has ${rows[0].map((g) => `${g.ch} at x=${f(g.l)}`).join(", ")}` +
            (agree ? "" : " (continuation rows disagree)"),
        );
      }
    });
    return found;
  }

  // 3. Nothing sticks out of the content column, except inside a scroll container
  // (overflow-x auto/scroll/hidden/clip) that itself fits. An element may reach past
  // the column by its own negative right margin: Material lets tables and tab bars
  // bleed into the column's side margin on purpose; its content gets the same room.
  function overflow() {
    const found = [];
    const column = document.querySelector(".md-content__inner") || document.querySelector("article");
    const past = (right, edge) => (right - edge + 1).toFixed(0);
    function walk(el, edge) {
      for (const node of el.childNodes) {
        if (node.nodeType === Node.TEXT_NODE) {
          if (!node.data.trim()) continue;
          range.selectNodeContents(node);
          const right = Math.max(...[...range.getClientRects()].map((r) => r.right));
          if (right > edge) {
            const text = node.data.trim().slice(0, 40);
            found.push(`text "${text}" ends ${past(right, edge)} px past the column, at ${describe(el)}`);
          }
          continue;
        }
        if (node.nodeType !== Node.ELEMENT_NODE) continue;
        const cs = getComputedStyle(node);
        if (cs.display === "none") continue;
        const r = node.getBoundingClientRect();
        const room = edge + Math.max(0, -parseFloat(cs.marginRight) || 0);
        if ((r.width > 0 || r.height > 0) && r.right > room) {
          found.push(`${describe(node)} is ${Math.round(r.width)} px wide and ends ${past(r.right, edge)} px past the column`);
          continue; // the outermost only
        }
        if (node.localName === "svg" || cs.overflowX !== "visible") continue; // fits, clips
        walk(node, room);
      }
    }
    walk(column, column.getBoundingClientRect().right + 1);
    if (document.documentElement.scrollWidth > innerWidth) {
      found.unshift(`the page scrolls sideways: ${document.documentElement.scrollWidth} px wide in a ${innerWidth} px window`);
    }
    return found;
  }

  window.__gate = {
    measure() {
      clips = new Map();
      const root = document.querySelector(".md-content");
      return { tex: tex(root), alignment: alignment(root), overflow: overflow() };
    },
  };
})();
