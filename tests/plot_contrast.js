// Plot text contrast (the browser gate, tests/test_browser.py): every visible text of every
// inline SVG in the article, against what is painted under it (SVG shapes, HTML
// backgrounds, found with elementsFromPoint), alpha-composited. Engine-independent.
async () => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => {  // alpha-composite top over an opaque bottom
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const paint = (el) => {  // the colour an element paints over the point, or null
    const s = getComputedStyle(el);
    const opacity = Number(s.opacity);
    if (el instanceof SVGElement && !(el instanceof SVGSVGElement)) {
      if (el.tagName === "text" || el.tagName === "tspan" || el.tagName === "g") return null;
      if (s.fill === "none") return null;
      const c = parse(s.fill); if (!c) return null;
      c[3] *= Number(s.fillOpacity) * opacity;
      return c[3] > 0 ? c : null;
    }
    const c = parse(s.backgroundColor);
    if (!c || c[3] === 0) return null;
    c[3] *= opacity;
    return c;
  };
  const results = [];  // {text, ratio, fg, bg}
  for (const svg of document.querySelectorAll("article svg")) {
    if (!svg.querySelector("text")) continue;
    svg.scrollIntoView({block: "center"});
    await new Promise(requestAnimationFrame);
    for (const text of svg.querySelectorAll("text")) {
      const r = text.getBoundingClientRect();
      if (r.width < 1 || r.height < 1 || !text.textContent.trim()) continue;
      const x = r.left + r.width / 2, y = r.top + r.height / 2;
      const layers = [];
      for (const el of document.elementsFromPoint(x, y)) {
        if (el === text || text.contains(el)) continue;
        const c = paint(el);
        if (c) { layers.push(c); if (c[3] >= 1) break; }
      }
      let bg = [255, 255, 255, 1];  // the canvas, if nothing opaque is found
      for (const c of layers.reverse()) bg = over(c, bg);
      const s = getComputedStyle(text);
      const fg = parse(s.fill) || [0, 0, 0, 1];
      fg[3] *= Number(s.fillOpacity) * Number(s.opacity);
      const value = ratio(over(fg, bg), bg);
      results.push({text: text.textContent.trim().slice(0, 30), ratio: Math.round(value * 100) / 100,
                    fg: s.fill, bg: `rgb(${bg.slice(0, 3).map(Math.round).join(",")})`});
    }
  }
  return results;
}
