// Every text a person can see on the page, as the back row gets it: its size on the screen, its contrast
// against what is painted behind it, and its boxes; then every pair of labels that overlap. Evaluated by
// tests/e2e/test_projector_legibility.py (page.evaluate): returns {texts, overlaps, overflow}; a text
// whose line is only partly painted (cut by a box's edge or the screen's) is marked `cut`.
//
// Size: the computed font size, times the SVG's screen scale for text inside an <svg> (a map label of 26
// view-box units on a map drawn at half size is 13 pixels). Contrast: WCAG 2 ratio of the text colour
// (with its opacity and its ancestors') over the background composed from the element's ancestors'
// background colours; inside an <svg> the text's own halo (a stroke painted under the fill) or the
// <rect> drawn under it in its group counts as its background.
(statementSelector) => {
  const parse = (value) => {
    const m = /rgba?\(([^)]+)\)/.exec(value || "");
    if (!m) return null;
    const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const over = (top, bottom) => {
    const a = top.a + bottom.a * (1 - top.a);
    if (a === 0) return { r: 0, g: 0, b: 0, a: 0 };
    const mix = (k) => (top[k] * top.a + bottom[k] * bottom.a * (1 - top.a)) / a;
    return { r: mix("r"), g: mix("g"), b: mix("b"), a };
  };
  const luminance = (c) => {
    const lin = (v) => { const s = v / 255; return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const opacity = (el) => {
    let value = 1;
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) value *= Number(getComputedStyle(node).opacity);
    return value;
  };
  /** Background layers from `el` outwards until one is opaque, composed; the canvas is the root's. */
  const htmlBackground = (start) => {
    const layers = [];
    for (let node = start; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) {
        layers.push(c);
        if (c.a >= 1) break;
      }
    }
    let color = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) color = over(layer, color);
    return color;
  };
  const svgBackground = (el) => {
    const style = getComputedStyle(el);
    const stroke = parse(style.stroke);
    const svg = el.ownerSVGElement;
    const behind = htmlBackground(svg.parentElement);
    if (stroke && stroke.a > 0 && parseFloat(style.strokeWidth) > 0 && /^stroke/.test(style.paintOrder)) {
      return over({ ...stroke, a: stroke.a * Number(style.strokeOpacity) }, behind);
    }
    const rect = el.parentElement && el.parentElement.querySelector(":scope > rect");
    if (rect) {
      const rs = getComputedStyle(rect);
      const fill = parse(rs.fill);
      if (fill) return over({ ...fill, a: fill.a * Number(rs.fillOpacity) }, behind);
    }
    return behind;
  };
  /** The part of `rect` not clipped away by an ancestor that hides its overflow, or null. */
  const clipped = (rect, el) => {
    let { left, top, right, bottom } = rect;
    for (let node = el; node && node !== document.documentElement; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.overflowX !== "visible" || style.overflowY !== "visible") {
        const b = node.getBoundingClientRect();
        left = Math.max(left, b.left); top = Math.max(top, b.top);
        right = Math.min(right, b.right); bottom = Math.min(bottom, b.bottom);
      }
    }
    return right - left > 0.5 && bottom - top > 0.5 ? { left, top, right, bottom } : null;
  };

  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!/\S/.test(node.data)) continue;
    const el = node.parentElement;
    if (!el || el.closest("script, style, title, .visually-hidden")) continue;
    const style = getComputedStyle(el);
    if (style.visibility !== "visible" || style.display === "none") continue;
    const inSvg = el instanceof SVGElement;
    let size = parseFloat(style.fontSize);
    if (inSvg) {
      const m = el.getScreenCTM();
      size *= Math.hypot(m.a, m.b);
    }
    let rects;
    if (inSvg) {
      rects = [el.getBoundingClientRect()];
    } else {
      const range = document.createRange();
      range.selectNodeContents(node);
      rects = Array.from(range.getClientRects());
    }
    // The glyphs' band: one em high, centred in the line's content area. CJK fonts have content areas of
    // about 1.45 em (Noto Sans CJK), taller than the line height a reading text uses, so content areas of
    // adjacent lines overlap while their glyphs are well apart.
    rects = rects.filter((r) => r.width > 0 && r.height > 0).map((r) => {
      const middle = (r.top + r.bottom) / 2;
      const half = Math.min(r.height, size) / 2;
      return { left: r.left, right: r.right, top: middle - half, bottom: middle + half };
    });
    const shown = rects.map((r) => clipped(r, el)).filter(Boolean);
    if (!shown.length) continue;
    // a line only partly painted: cut by a box that hides its overflow, or by the edge of the screen
    const cut = rects.some((r) => {
      const c = clipped(r, el);
      return c && (c.bottom - c.top < r.bottom - r.top - 1 || c.right - c.left < r.right - r.left - 1);
    }) || shown.some((b) => b.left < -1 || b.top < -1 || b.right > innerWidth + 1 || b.bottom > innerHeight + 1);
    const alpha = opacity(el);
    if (alpha < 0.05) continue;
    const color = parse(inSvg ? style.fill : style.color);
    const background = inSvg ? svgBackground(el) : htmlBackground(el);
    const fg = over({ ...color, a: color.a * alpha * (inSvg ? Number(style.fillOpacity) : 1) }, background);
    texts.push({
      text: node.data.trim().slice(0, 60),
      where: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${String(el.getAttribute("class") || "").split(" ").join(".")}`,
      statement: Boolean(el.closest(statementSelector)),
      size: Math.round(size * 100) / 100,
      contrast: Math.round(ratio(fg, background) * 100) / 100,
      boxes: shown,
      cut,
      owner: el,
    });
  }

  // Overlaps: two different texts whose boxes intersect, or a map label (a group's label plate, a pile's
  // count) over a dot or another label. Touching edges (under a pixel) do not count.
  const cross = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1
    && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const overlaps = [];
  for (let i = 0; i < texts.length; i += 1) {
    for (let j = i + 1; j < texts.length; j += 1) {
      const a = texts[i];
      const b = texts[j];
      if (a.owner === b.owner) continue;
      if (a.boxes.some((x) => b.boxes.some((y) => cross(x, y)))) overlaps.push(`${a.where} "${a.text}" over ${b.where} "${b.text}"`);
    }
  }
  const mapLabels = Array.from(document.querySelectorAll("svg .group-label rect, svg .stack"))
    .filter((n) => n.getClientRects().length).map((n) => ({ n, box: n.getBoundingClientRect() }));
  const dots = Array.from(document.querySelectorAll("svg .dot")).filter((n) => n.getClientRects().length)
    .map((n) => ({ n, box: n.getBoundingClientRect() }));
  const name = (n) => `${n.tagName.toLowerCase()}.${String(n.getAttribute("class") || "").split(" ").join(".")}` +
    (n.textContent ? ` "${n.textContent}"` : n.parentElement.textContent ? ` "${n.parentElement.textContent}"` : "");
  for (let i = 0; i < mapLabels.length; i += 1) {
    for (let j = i + 1; j < mapLabels.length; j += 1) {
      if (cross(mapLabels[i].box, mapLabels[j].box)) overlaps.push(`${name(mapLabels[i].n)} over ${name(mapLabels[j].n)}`);
    }
    // a group's label plate or a pile's count over a dot hides a person
    for (const dot of dots) if (cross(mapLabels[i].box, dot.box)) overlaps.push(`${name(mapLabels[i].n)} over a dot`);
  }
  const root = document.scrollingElement;
  return {
    texts: texts.map(({ owner, ...rest }) => rest),
    overlaps,
    overflow: { width: root.scrollWidth, viewport: innerWidth },
  };
}
