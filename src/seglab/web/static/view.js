// The canvas: the image (a downscaled preview drawn at full-image size, and once zoomed in past
// the preview's resolution, the part on screen at full resolution over it), the objects' overlay,
// pending proposals and the tool being drawn; pan and zoom as one transform screen = image * s + t.
import { paint } from "./masks.js";

export class View {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.s = 1; this.tx = 0; this.ty = 0;
    this.image = null; this.width = 0; this.height = 0;
    this.detail = null; this.detailUrl = null; this.detailTimer = 0;
    this.fitted = true;  // until the user zooms or pans, a resized window refits the image
    this.layers = () => ({ objects: [], pending: [], sketch: null });
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
  }

  resize() {
    const box = this.canvas.parentElement.getBoundingClientRect();
    const [cx, cy] = this.toImage(this.canvas.width / 2, this.canvas.height / 2);
    this.canvas.width = Math.max(1, Math.floor(box.width));
    this.canvas.height = Math.max(1, Math.floor(box.height));
    if (this.fitted) return this.fit();
    this.tx = this.canvas.width / 2 - cx * this.s; this.ty = this.canvas.height / 2 - cy * this.s;  // keep the centre
    this.draw();
  }

  show(image, width, height, detailUrl = null) {
    this.image = image; this.width = width; this.height = height;
    this.detail = null; this.detailUrl = detailUrl;
    delete document.body.dataset.detail;
    this.fit();
  }

  // After zooming or panning settles: when screen pixels are finer than the preview's, fetch the
  // visible part (plus a margin, so small pans need nothing new) at up to screen resolution.
  scheduleDetail() {
    clearTimeout(this.detailTimer);
    this.detailTimer = setTimeout(() => this.loadDetail(), 150);
  }

  loadDetail() {
    if (!this.image || !this.detailUrl || this.s <= this.image.naturalWidth / this.width) return;
    const [ax, ay] = this.toImage(0, 0), [bx, by] = this.toImage(this.canvas.width, this.canvas.height);
    const mx = (bx - ax) / 4, my = (by - ay) / 4;
    const box = [Math.max(0, Math.floor(ax - mx)), Math.max(0, Math.floor(ay - my)),
                 Math.min(this.width, Math.ceil(bx + mx)), Math.min(this.height, Math.ceil(by + my))];
    if (box[0] >= box[2] || box[1] >= box[3]) return;
    const maxSide = Math.ceil(Math.max(this.canvas.width, this.canvas.height) * 1.5);
    const d = this.detail;
    const scale = Math.min(1, maxSide / Math.max(box[2] - box[0], box[3] - box[1]));
    if (d && d.box[0] <= ax && d.box[1] <= ay && d.box[2] >= bx && d.box[3] >= by && d.scale >= Math.min(1, this.s)) return;
    const img = new Image(), image = this.image;
    img.onload = () => {
      if (this.image !== image) return;  // another image was opened meanwhile
      this.detail = { image: img, box, scale };
      document.body.dataset.detail = box.join(",");
      this.draw();
    };
    img.src = this.detailUrl(box, maxSide);
  }

  fit() {
    if (!this.width) return;
    const s = Math.min(this.canvas.width / this.width, this.canvas.height / this.height) * 0.95;
    this.s = s; this.fitted = true;
    this.tx = (this.canvas.width - this.width * s) / 2;
    this.ty = (this.canvas.height - this.height * s) / 2;
    this.draw();
    this.scheduleDetail();
  }

  toImage(sx, sy) { return [(sx - this.tx) / this.s, (sy - this.ty) / this.s]; }
  toScreen(x, y) { return [x * this.s + this.tx, y * this.s + this.ty]; }

  zoom(factor, sx, sy) {
    const s = Math.min(64, Math.max(0.02, this.s * factor));
    const [x, y] = this.toImage(sx, sy);
    this.s = s; this.tx = sx - x * s; this.ty = sy - y * s; this.fitted = false;
    this.draw();
    this.scheduleDetail();
  }

  pan(dx, dy) { this.tx += dx; this.ty += dy; this.fitted = false; this.draw(); this.scheduleDetail(); }

  draw() {
    const { ctx, canvas } = this;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#1e1e1e";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!this.image) return;
    ctx.setTransform(this.s, 0, 0, this.s, this.tx, this.ty);
    ctx.imageSmoothingEnabled = this.s < 2;
    ctx.drawImage(this.image, 0, 0, this.width, this.height);
    if (this.detail) {
      const [x0, y0, x1, y1] = this.detail.box;
      ctx.drawImage(this.detail.image, x0, y0, x1 - x0, y1 - y0);
    }
    ctx.imageSmoothingEnabled = false;
    const { objects, pending, sketch, selected, hover, opacity, outlineOnly } = this.layers();
    // each region: its own colour inside (opacity slider, none when outline-only) and a crisp opaque
    // edge about one screen pixel wide; the hovered and the selected one stand out
    const edge = Math.max(1, Math.round(1.5 / this.s));
    const layer = (item, color, highlighted) => {
      const alpha = outlineOnly ? 0 : Math.round(255 * Math.min(1, opacity * (highlighted ? 1.6 : 1)));
      const key = `${color}|${alpha}|${edge}|${highlighted ? 1 : 0}`;
      // an edited object is a copy with a new mask and the old painting: the mask is part of the key
      if (!item.canvas || item.canvasKey !== key || item.canvasMask !== item.mask) {
        item.canvas = paint(item.mask, color, alpha, highlighted ? "#ffffff" : color, highlighted ? edge + 1 : edge);
        item.canvasKey = key;
        item.canvasMask = item.mask;
      }
      ctx.drawImage(item.canvas, item.mask.x, item.mask.y);
    };
    for (const obj of objects) {
      if (!obj.visible || !obj.mask.w) continue;
      layer(obj, obj.color, obj.uid === selected || obj.uid === hover);
      if (obj.uid === selected) this.outline(obj.mask, "#ffffff");
    }
    for (const p of pending) {
      if (!p.mask.w) continue;
      layer(p, p.current ? "#ff00ff" : p.color, p === hover);
    }
    if (sketch) this.drawSketch(sketch);
  }

  outline(mask, color) {
    const { ctx } = this;
    ctx.lineWidth = 2 / this.s;
    ctx.strokeStyle = color;
    ctx.setLineDash([6 / this.s, 4 / this.s]);
    ctx.strokeRect(mask.x, mask.y, mask.w, mask.h);
    ctx.setLineDash([]);
  }

  drawSketch(sketch) {
    const { ctx } = this;
    ctx.lineWidth = 2 / this.s;
    if (sketch.box) {
      const [x0, y0, x1, y1] = sketch.box;
      ctx.strokeStyle = "#00e5ff";
      ctx.strokeRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
    }
    for (const stroke of sketch.strokes || []) {
      ctx.strokeStyle = stroke.fg ? "#00ff66" : "#ff3030";
      ctx.lineWidth = Math.max(2 / this.s, stroke.width || 0);
      ctx.lineCap = "round";
      ctx.beginPath();
      stroke.points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (stroke.points.length === 1) ctx.lineTo(stroke.points[0][0] + 0.01, stroke.points[0][1]);
      ctx.stroke();
    }
    for (const [k, ring] of (sketch.rings || []).entries()) {
      if (!ring.length) continue;
      ctx.strokeStyle = "#00e5ff";
      ctx.lineWidth = 2 / this.s;
      ctx.beginPath();
      ring.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
      if (sketch.closed || k < sketch.rings.length - 1) ctx.closePath();
      ctx.stroke();
      ctx.fillStyle = "#ffffff";
      const r = 3.5 / this.s;
      for (const [x, y] of ring) ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
    }
    if (sketch.cursor) {
      const [x, y, r] = sketch.cursor;
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1 / this.s;
      ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.stroke();
    }
  }
}
