// Pointer and keyboard tools on the canvas: pan/select, click, box, scribbles, propose,
// polygon with editable vertices, brush and eraser.
import {
  acceptPending, chooseClass, commit, deleteObject, makeObject, redo, rejectPending, replaceObject,
  runMethod, select, setPending, step, toggleDone, undo,
} from "./app.js";
import { contains, fromPolygon, grow, paintDisk, tighten, union } from "./masks.js";

const $ = (id) => document.getElementById(id);
const KEYS = { v: "pan", c: "click", b: "box", f: "fg", g: "bg", p: "propose", o: "polygon", r: "brush", e: "eraser" };

export function installTools({ state, view }) {
  const canvas = view.canvas;
  let drag = null, spaceDown = false;

  const setTool = (tool) => {
    state.tool = tool;
    for (const b of document.querySelectorAll("[data-tool]")) b.classList.toggle("active", b.dataset.tool === tool);
    if (tool !== "polygon" && state.sketch.polygon) state.sketch = {};
    if (tool === "polygon") editPolygonOfSelected();
    view.draw();
  };
  for (const b of document.querySelectorAll("[data-tool]")) b.onclick = () => { setTool(b.dataset.tool); canvas.focus(); };
  setTool(state.tool);

  const point = (event) => {
    const box = canvas.getBoundingClientRect();
    return view.toImage(event.clientX - box.left, event.clientY - box.top);
  };
  const inside = ([x, y]) => x >= 0 && y >= 0 && x < view.width && y < view.height;
  const clamp = ([x, y]) => [Math.min(view.width, Math.max(0, x)), Math.min(view.height, Math.max(0, y))];
  const brushRadius = () => Math.max(1, Number($("brush-size").value) || 8);
  const topObjectAt = ([x, y]) => [...state.objects].reverse().find(o => o.visible && contains(o.mask, x, y));

  function editPolygonOfSelected() {
    const obj = state.objects.find(o => o.uid === state.selected);
    if (obj && obj.poly) state.sketch = { polygon: obj.poly.map(p => [...p]), closed: true, editing: obj.uid };
  }

  // ---------------------------------------------------------------- GrabCut from box + scribbles
  async function runGrabcut() {
    const params = {};
    if (state.sketch.box) {
      const [x0, y0, x1, y1] = state.sketch.box;
      params.box = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)].map(Math.round);
    }
    const sample = (fg) => {
      const pts = (state.sketch.strokes || []).filter(s => s.fg === fg).flatMap(s => s.points);
      const stride = Math.max(1, Math.ceil(pts.length / 400));
      return pts.filter((_, i) => i % stride === 0).map(([x, y]) => [Math.round(Math.min(view.width - 1, x)), Math.round(Math.min(view.height - 1, y))]);
    };
    const fg = sample(true), bg = sample(false);
    if (fg.length) params.foreground = fg;
    if (bg.length) params.background = bg;
    if (!params.box && !fg.length) return;
    const regions = await runMethod("grabcut", params);
    if (regions) setPending(regions.map(r => ({ ...r, current: true })));
  }

  async function runClick(p, add) {
    const method = $("click-method").value;
    const params = method === "region_growing" ? { seeds: [[Math.floor(p[0]), Math.floor(p[1])]] } : {};
    const regions = await runMethod(method, params, { pick: [Math.floor(p[0]), Math.floor(p[1])] });
    if (!regions || !regions.length) return;
    const current = state.pending.find(r => r.current);
    const mask = add && current ? union(current.mask, regions[0].mask, view.width, view.height) : regions[0].mask;
    setPending([{ ...regions[0], mask, current: true }]);
  }

  // ---------------------------------------------------------------- brush and eraser
  function applyStroke(points, erase) {
    const r = brushRadius();
    const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
    let target = state.objects.find(o => o.uid === state.selected);
    if (erase && !target) target = topObjectAt(points[0]);
    if (erase && !target) return;
    const base = target ? target.mask : { x: 0, y: 0, w: 0, h: 0, data: new Uint8Array(0) };
    const mask = grow(base, Math.floor(Math.min(...xs) - r - 1), Math.floor(Math.min(...ys) - r - 1),
                      Math.ceil(Math.max(...xs) + r + 1), Math.ceil(Math.max(...ys) + r + 1), view.width, view.height);
    for (let i = 0; i < points.length; i++) {
      const [ax, ay] = points[Math.max(0, i - 1)], [bx, by] = points[i];
      const n = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / Math.max(1, r / 2)));
      for (let k = 1; k <= n; k++) paintDisk(mask, ax + (bx - ax) * k / n, ay + (by - ay) * k / n, r, erase ? 0 : 1);
    }
    const result = tighten(mask);
    if (target && !result.w) return deleteObject(target.uid);
    if (target) return replaceObject(target.uid, { mask: result, poly: null });
    const created = makeObject(result, { source: "brush" });
    commit([...state.objects, created], created.uid);
  }

  // ---------------------------------------------------------------- polygon
  function vertexAt(sx, sy) {
    const poly = state.sketch.polygon || [];
    return poly.findIndex(([x, y]) => { const [px, py] = view.toScreen(x, y); return Math.hypot(px - sx, py - sy) < 7; });
  }

  function closePolygon() {
    const poly = state.sketch.polygon;
    if (!poly || poly.length < 3) return;
    const mask = fromPolygon(poly, view.width, view.height);
    const editing = state.sketch.editing;
    state.sketch = {};
    if (!mask.w) return view.draw();
    if (editing && state.objects.some(o => o.uid === editing)) {
      replaceObject(editing, { mask, poly });
      editPolygonOfSelected();
    } else {
      const created = makeObject(mask, { source: "polygon", poly });
      commit([...state.objects, created], created.uid);
      editPolygonOfSelected();
    }
    view.draw();
  }

  // ---------------------------------------------------------------- pointer events
  canvas.addEventListener("pointerdown", (event) => {
    canvas.focus();
    canvas.setPointerCapture(event.pointerId);
    const box = canvas.getBoundingClientRect();
    const sx = event.clientX - box.left, sy = event.clientY - box.top, p = point(event);
    const panning = state.tool === "pan" || event.button === 1 || spaceDown;
    drag = { start: p, sx, sy, last: [sx, sy], moved: false, panning, points: [clamp(p)] };
    if (panning) return;
    if (state.tool === "box") state.sketch = { box: [...clamp(p), ...clamp(p)], strokes: [] };
    if (state.tool === "fg" || state.tool === "bg") {
      state.sketch.strokes = state.sketch.strokes || [];
      drag.stroke = { fg: state.tool === "fg", points: [clamp(p)] };
      state.sketch.strokes.push(drag.stroke);
    }
    if (state.tool === "polygon") {
      const index = vertexAt(sx, sy);
      if (index === 0 && !state.sketch.closed && (state.sketch.polygon || []).length >= 3) { drag = null; closePolygon(); return; }
      if (index >= 0) drag.vertex = index;
      else if (!state.sketch.closed && inside(p)) {
        state.sketch.polygon = [...(state.sketch.polygon || []), clamp(p)];
        drag.vertex = state.sketch.polygon.length - 1;
      } else if (state.sketch.closed) { state.sketch = { polygon: [clamp(p)] }; select(null); drag.vertex = 0; }
    }
    view.draw();
  });

  canvas.addEventListener("pointermove", (event) => {
    const box = canvas.getBoundingClientRect();
    const sx = event.clientX - box.left, sy = event.clientY - box.top, p = point(event);
    if (state.tool === "brush" || state.tool === "eraser") { state.sketch.cursor = [p[0], p[1], brushRadius()]; if (!drag) view.draw(); }
    if (!drag) return;
    if (Math.hypot(sx - drag.sx, sy - drag.sy) > 3) drag.moved = true;
    if (drag.panning) { view.pan(sx - drag.last[0], sy - drag.last[1]); drag.last = [sx, sy]; return; }
    if (state.tool === "box") state.sketch.box = [...drag.start.map((v, i) => clamp(drag.start)[i]), ...clamp(p)];
    if (drag.stroke) drag.stroke.points.push(clamp(p));
    if (drag.vertex !== undefined) state.sketch.polygon[drag.vertex] = clamp(p);
    if (state.tool === "brush" || state.tool === "eraser") {
      drag.points.push(clamp(p));
      state.sketch.strokes = [{ fg: state.tool === "brush", points: drag.points, width: 2 * brushRadius() }];
    }
    view.draw();
  });

  canvas.addEventListener("pointerup", async (event) => {
    const d = drag;
    drag = null;
    if (!d) return;
    const p = point(event);
    if (d.panning) {
      if (!d.moved && state.tool === "pan") { const hit = topObjectAt(p); select(hit ? hit.uid : null); }
      return;
    }
    if (state.tool === "box") {
      const [x0, y0, x1, y1] = state.sketch.box;
      if (Math.abs(x1 - x0) < 2 || Math.abs(y1 - y0) < 2) { state.sketch = {}; view.draw(); return; }
      await runGrabcut();
    } else if (state.tool === "fg" || state.tool === "bg") {
      await runGrabcut();
    } else if (state.tool === "click" && inside(p)) {
      await runClick(p, event.shiftKey);
    } else if (state.tool === "propose" && !d.moved) {
      const hit = [...state.pending].reverse().find(r => contains(r.mask, p[0], p[1]));
      if (hit) acceptPending(hit);
    } else if (state.tool === "polygon" && d.vertex !== undefined && state.sketch.closed && d.moved) {
      state.sketch.closed = false;
      closePolygon();
    } else if (state.tool === "brush" || state.tool === "eraser") {
      delete state.sketch.strokes;
      applyStroke(d.points, state.tool === "eraser");
    }
    view.draw();
  });

  canvas.addEventListener("dblclick", () => { if (state.tool === "polygon" && !state.sketch.closed) closePolygon(); });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    view.zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });

  // ---------------------------------------------------------------- keyboard
  window.addEventListener("keyup", (event) => { if (event.key === " ") spaceDown = false; });
  window.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("input, select, textarea")) return;
    const key = event.key, lower = key.toLowerCase(), ctrl = event.ctrlKey || event.metaKey;
    if (ctrl && lower === "z") { event.preventDefault(); return event.shiftKey ? redo() : undo(); }
    if (ctrl && lower === "y") { event.preventDefault(); return redo(); }
    if (ctrl) return;
    if (key === " ") { spaceDown = true; event.preventDefault(); return; }
    if (KEYS[lower]) return setTool(KEYS[lower]);
    if (lower === "j" || key === "PageDown") return step(1);
    if (lower === "k" || key === "PageUp") return step(-1);
    if (lower === "d") return toggleDone();
    if (key === "Enter") return state.tool === "polygon" ? closePolygon() : acceptPending();
    if (key === "Escape") { rejectPending(); return view.draw(); }
    if ((key === "Delete" || key === "Backspace") && state.selected) return deleteObject(state.selected);
    if (lower === "h" && state.selected) {
      const obj = state.objects.find(o => o.uid === state.selected);
      return replaceObject(obj.uid, { visible: !obj.visible });
    }
    if (key === "0") return view.fit();
    if (key === "+" || key === "=") return view.zoom(1.25, canvas.width / 2, canvas.height / 2);
    if (key === "-") return view.zoom(0.8, canvas.width / 2, canvas.height / 2);
    if (key === "[" || key === "]") { $("brush-size").value = Math.max(1, brushRadius() + (key === "]" ? 2 : -2)); return; }
    if (/^[1-9]$/.test(key) && state.classes[Number(key) - 1]) return chooseClass(state.classes[Number(key) - 1].id);
  });
}
