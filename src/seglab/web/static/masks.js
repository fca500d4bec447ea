// Masks on the page: {x, y, w, h, data: Uint8Array(w*h)} crops of the image, row-major.
// On the wire they are "crop runs": the same box and run lengths starting with zeros.

export function fromRuns(runs) {
  const data = new Uint8Array(runs.w * runs.h);
  let pos = 0, value = 0;
  for (const count of runs.counts) {
    if (value) data.fill(1, pos, pos + count);
    pos += count;
    value ^= 1;
  }
  return { x: runs.x, y: runs.y, w: runs.w, h: runs.h, data };
}

export function toRuns(mask) {
  const m = tighten(mask);
  const counts = [];
  let value = 0, run = 0;
  for (let i = 0; i < m.data.length; i++) {
    if (m.data[i] !== value) { counts.push(run); run = 0; value = m.data[i]; }
    run++;
  }
  if (m.data.length) counts.push(run);
  return { x: m.x, y: m.y, w: m.w, h: m.h, counts };
}

export function area(mask) {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) n += mask.data[i];
  return n;
}

export function tighten(mask) {
  let x0 = mask.w, y0 = mask.h, x1 = -1, y1 = -1;
  for (let r = 0; r < mask.h; r++) {
    for (let c = 0; c < mask.w; c++) {
      if (mask.data[r * mask.w + c]) {
        if (c < x0) x0 = c; if (c > x1) x1 = c; if (r < y0) y0 = r; if (r > y1) y1 = r;
      }
    }
  }
  if (x1 < 0) return { x: 0, y: 0, w: 0, h: 0, data: new Uint8Array(0) };
  const w = x1 - x0 + 1, h = y1 - y0 + 1, data = new Uint8Array(w * h);
  for (let r = 0; r < h; r++) data.set(mask.data.subarray((r + y0) * mask.w + x0, (r + y0) * mask.w + x0 + w), r * w);
  return { x: mask.x + x0, y: mask.y + y0, w, h, data };
}

export function contains(mask, x, y) {
  const c = Math.floor(x) - mask.x, r = Math.floor(y) - mask.y;
  return c >= 0 && r >= 0 && c < mask.w && r < mask.h && mask.data[r * mask.w + c] === 1;
}

// A crop grown to cover [x0, x1) x [y0, y1) (clipped to the image) so strokes can be painted.
export function grow(mask, x0, y0, x1, y1, width, height) {
  const nx0 = Math.max(0, Math.min(mask.w ? mask.x : x0, x0)), ny0 = Math.max(0, Math.min(mask.h ? mask.y : y0, y0));
  const nx1 = Math.min(width, Math.max(mask.w ? mask.x + mask.w : x1, x1));
  const ny1 = Math.min(height, Math.max(mask.h ? mask.y + mask.h : y1, y1));
  const w = Math.max(0, nx1 - nx0), h = Math.max(0, ny1 - ny0), data = new Uint8Array(w * h);
  for (let r = 0; r < mask.h; r++) data.set(mask.data.subarray(r * mask.w, (r + 1) * mask.w), (r + mask.y - ny0) * w + (mask.x - nx0));
  return { x: nx0, y: ny0, w, h, data };
}

export function paintDisk(mask, cx, cy, radius, value) {
  const r2 = radius * radius;
  for (let y = Math.max(mask.y, Math.floor(cy - radius)); y <= Math.min(mask.y + mask.h - 1, Math.ceil(cy + radius)); y++) {
    for (let x = Math.max(mask.x, Math.floor(cx - radius)); x <= Math.min(mask.x + mask.w - 1, Math.ceil(cx + radius)); x++) {
      if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r2) mask.data[(y - mask.y) * mask.w + (x - mask.x)] = value;
    }
  }
}

// Rasterise rings [[[x, y], ...], ...] (image pixels, corner convention) with the canvas: pixel
// centres inside the even-odd fill of all rings = 1, so inner rings are holes.
export function fromRings(rings, width, height) {
  const all = rings.flat();
  if (!all.length) return { x: 0, y: 0, w: 0, h: 0, data: new Uint8Array(0) };
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs))), y0 = Math.max(0, Math.floor(Math.min(...ys)));
  const x1 = Math.min(width, Math.ceil(Math.max(...xs)) + 1), y1 = Math.min(height, Math.ceil(Math.max(...ys)) + 1);
  const w = Math.max(0, x1 - x0), h = Math.max(0, y1 - y0);
  if (!w || !h) return { x: 0, y: 0, w: 0, h: 0, data: new Uint8Array(0) };
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.beginPath();
  for (const ring of rings) {
    if (ring.length < 3) continue;
    ring.forEach(([x, y], i) => (i ? ctx.lineTo(x - x0, y - y0) : ctx.moveTo(x - x0, y - y0)));
    ctx.closePath();
  }
  ctx.fillStyle = "#fff";
  ctx.fill("evenodd");
  const pixels = ctx.getImageData(0, 0, w, h).data, data = new Uint8Array(w * h);
  for (let i = 0; i < data.length; i++) data[i] = pixels[4 * i + 3] >= 128 ? 1 : 0;
  return tighten({ x: x0, y: y0, w, h, data });
}

export function fromPolygon(points, width, height) { return fromRings([points], width, height); }

// The pixels of the crop within `width` pixels of its edge (4-neighbour erosion, `width` times).
export function edgeBand(mask, width = 1) {
  const { w, h } = mask;
  let inner = mask.data;
  for (let k = 0; k < width; k++) {
    const next = new Uint8Array(w * h);
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const i = r * w + c;
        next[i] = inner[i] && c > 0 && c < w - 1 && r > 0 && r < h - 1 &&
          inner[i - 1] && inner[i + 1] && inner[i - w] && inner[i + w] ? 1 : 0;
      }
    }
    inner = next;
  }
  const band = new Uint8Array(w * h);
  for (let i = 0; i < band.length; i++) band[i] = mask.data[i] && !inner[i] ? 1 : 0;
  return band;
}

// An offscreen canvas of the crop: inside in `color` (#rrggbb) with `alpha` (0..255), the edge
// band (`edge` pixels wide) opaque in `edgeColor`, so neighbouring regions stay apart.
export function paint(mask, color, alpha, edgeColor = color, edge = 1) {
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, mask.w); canvas.height = Math.max(1, mask.h);
  if (!mask.w || !mask.h) return canvas;
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(mask.w, mask.h);
  const rgb = (hex) => [1, 3, 5].map(k => parseInt(hex.slice(k, k + 2), 16));
  const fill = rgb(color), line = rgb(edgeColor), band = edge > 0 ? edgeBand(mask, edge) : null;
  for (let i = 0; i < mask.data.length; i++) {
    if (!mask.data[i]) continue;
    const onEdge = band && band[i];
    const [r, g, b] = onEdge ? line : fill;
    image.data[4 * i] = r; image.data[4 * i + 1] = g; image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = onEdge ? 255 : alpha;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// Crop `a` without the pixels of `b` (alt-click cuts a region out of an object).
export function subtract(a, b) {
  const out = { ...a, data: a.data.slice() };
  for (let r = 0; r < b.h; r++) {
    for (let c = 0; c < b.w; c++) {
      const ar = r + b.y - a.y, ac = c + b.x - a.x;
      if (b.data[r * b.w + c] && ar >= 0 && ac >= 0 && ar < a.h && ac < a.w) out.data[ar * a.w + ac] = 0;
    }
  }
  return tighten(out);
}

// A distinct colour for item `i` (golden-angle hues), as #rrggbb.
export function distinctColor(i, saturation = 0.85, lightness = 0.55) {
  const h = (i * 137.508) % 360, a = saturation * Math.min(lightness, 1 - lightness);
  const f = (n) => { const k = (n + h / 30) % 12; return lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)); };
  return "#" + [0, 8, 4].map(n => Math.round(f(n) * 255).toString(16).padStart(2, "0")).join("");
}

// `hex` made lighter (amount > 0) or darker (amount < 0), amount in -1..1.
export function shade(hex, amount) {
  const rgb = [1, 3, 5].map(k => parseInt(hex.slice(k, k + 2), 16));
  const out = rgb.map(v => Math.round(amount >= 0 ? v + (255 - v) * amount : v * (1 + amount)));
  return "#" + out.map(v => Math.max(0, Math.min(255, v)).toString(16).padStart(2, "0")).join("");
}

// Union of two crops (for shift-click adding superpixels to the current proposal).
export function union(a, b, width, height) {
  if (!a.w) return b;
  if (!b.w) return a;
  const out = grow(a, b.x, b.y, b.x + b.w, b.y + b.h, width, height);
  for (let r = 0; r < b.h; r++) {
    for (let c = 0; c < b.w; c++) {
      if (b.data[r * b.w + c]) out.data[(r + b.y - out.y) * out.w + (c + b.x - out.x)] = 1;
    }
  }
  return out;
}

// The pixel of the crop farthest from its edge (3-4 chamfer distance), as [x, y] image pixels: where
// a click "on the object" goes when a click method needs a positive click and the object has none.
export function innerPoint(mask) {
  const { w, h, data } = mask;
  const d = new Uint32Array(w * h);
  for (let i = 0; i < d.length; i++) d[i] = data[i] ? 0xffffffff : 0;
  const at = (r, c) => (r < 0 || c < 0 || r >= h || c >= w ? 0 : d[r * w + c]);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      if (d[i]) d[i] = Math.min(d[i], at(r, c - 1) + 3, at(r - 1, c) + 3, at(r - 1, c - 1) + 4, at(r - 1, c + 1) + 4);
    }
  }
  let best = -1, bx = 0, by = 0;
  for (let r = h - 1; r >= 0; r--) {
    for (let c = w - 1; c >= 0; c--) {
      const i = r * w + c;
      if (!d[i]) continue;
      d[i] = Math.min(d[i], at(r, c + 1) + 3, at(r + 1, c) + 3, at(r + 1, c + 1) + 4, at(r + 1, c - 1) + 4);
      if (d[i] >= best) { best = d[i]; bx = c; by = r; }
    }
  }
  return [mask.x + bx, mask.y + by];
}
