// Pointer and keyboard tools on the canvas: pan/select, click, box, scribbles, propose,
// polygon with editable vertices, brush and eraser.
import {
  acceptPending, chooseClass, clickParams, commit, deleteObject, makeObject, message, methodPrompts, proposeWithModel, redo, rejectPending,
  replaceObject, runMethod, select, setPending, step, toggleDone, toggleHelp, toggleOutlineOnly, undo,
} from "./app.js";
import { api } from "./api.js";
import { contains, fromRings, grow, innerPoint, paintDisk, subtract, tighten, toRuns, union } from "./masks.js";

const $ = (id) => document.getElementById(id);
const KEYS = { v: "pan", c: "click", b: "box", f: "fg", g: "bg", p: "propose", o: "polygon", r: "brush", e: "eraser" };

export function installTools({ state, view }) {
  const canvas = view.canvas;
  let drag = null, spaceDown = false;

  const setTool = (tool) => {
    state.tool = tool;
    for (const b of document.querySelectorAll("[data-tool]")) b.classList.toggle("active", b.dataset.tool === tool);
    if (tool !== "polygon" && state.sketch.rings) state.sketch = {};
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

  // The selected object's outline as editable rings (outer outlines and holes): its own polygon when it
  // was drawn as one, otherwise its mask's outline from the server, simplified with the tolerance set.
  async function editPolygonOfSelected(resimplify = false) {
    const obj = state.objects.find(o => o.uid === state.selected);
    if (!obj || !obj.mask.w) return;
    if (obj.rings && !resimplify) {
      state.sketch = { rings: obj.rings.map(r => r.map(p => [...p])), closed: true, editing: obj.uid };
      return view.draw();
    }
    const tolerance = Math.max(0, Number($("poly-tolerance").value) || 0);
    try {
      const result = await api("POST", `api/images/${state.current.id}/outline`, { mask: toRuns(obj.mask), tolerance });
      if (state.selected !== obj.uid || state.tool !== "polygon") return;
      state.sketch = { rings: result.rings, closed: true, editing: obj.uid };
      message(`outline: ${result.vertices} vertices in ${result.rings.length} ring(s) (tolerance ${tolerance} px)`);
      document.body.dataset.outline = String(result.vertices);
      view.draw();
    } catch (error) { message(error.message, true); }
  }
  $("poly-tolerance").addEventListener("change", () => { if (state.tool === "polygon") editPolygonOfSelected(true); });

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
    // with no proposal pending, scribbles refine the selected object (GrabCut in its box plus a margin),
    // and so does a box that holds the centre of the object's box (or any box drawn with Shift)
    const selected = !state.pending.some(r => r.current) && state.objects.find(o => o.uid === state.selected);
    const target = !selected ? null : !state.sketch.box ? selected
      : state.sketch.refine || boxHoldsCentre(params.box, selected.mask) ? selected : null;
    if (target && !params.box) {
      const m = target.mask, pad = Math.max(4, Math.round(0.1 * Math.max(m.w, m.h)));
      params.box = [Math.max(0, m.x - pad), Math.max(0, m.y - pad), Math.min(view.width, m.x + m.w + pad), Math.min(view.height, m.y + m.h + pad)];
    }
    if (!params.box && !fg.length) return;
    // the method that declared box and scribble prompts at registration (GrabCut), by its parameter names
    const tool = (state.allMethods || []).find(m => m.prompts && m.prompts.box && m.prompts.scribbles);
    if (!tool) return message("no method on this server takes a box and scribbles");
    const named = {};
    if (params.box) named[tool.prompts.box] = params.box;
    if (params.foreground) named[tool.prompts.scribbles[0]] = params.foreground;
    if (params.background) named[tool.prompts.scribbles[1]] = params.background;
    const regions = await runMethod(tool.name, named);
    if (!regions) return;
    if (target) {
      state.sketch = {};
      if (!regions.length || !regions[0].mask.w) return message(`${tool.name}: nothing found; the object is unchanged`, true);
      replaceObject(target.uid, { mask: regions[0].mask, rings: null, source: target.source });
      message(`${tool.name} refined object #${state.objects.findIndex(o => o.uid === target.uid) + 1}`);
      return;
    }
    setPending(regions.map(r => ({ ...r, current: true })));
  }

  function boxHoldsCentre([x0, y0, x1, y1], mask) {
    const cx = mask.x + mask.w / 2, cy = mask.y + mask.h / 2;
    return x0 <= cx && cx <= x1 && y0 <= cy && cy <= y1;
  }

  // A click runs the click method at the point: alone it proposes a new region; with Shift it adds the
  // region to the pending proposal or else the selected object, with Alt it cuts it out of them.
  // A method that takes clicks and the last mask (prompt, sam) refines instead: Shift is a positive,
  // Alt a negative click, sent with the clicks that made the mask so far and the mask as `previous`.
  async function runClick(p, mode) {
    const method = $("click-method").value;
    const [x, y] = [Math.floor(p[0]), Math.floor(p[1])];
    const current = state.pending.find(r => r.current);
    const selected = state.objects.find(o => o.uid === state.selected);
    const prompts = methodPrompts(method);
    const target = mode === "new" ? null : current || selected;
    if (target && prompts.points && prompts.mask) return refineByClick(method, prompts, target, [x, y, mode === "add" ? 1 : 0]);
    const params = clickParams(method, x, y);
    const regions = await runMethod(method, params, { pick: [x, y] });
    if (!regions || !regions.length) return;
    const region = regions[0];
    if (mode !== "new" && !current && selected) {
      const mask = mode === "add" ? union(selected.mask, region.mask, view.width, view.height) : subtract(selected.mask, region.mask);
      if (!tighten(mask).w) return deleteObject(selected.uid);
      return replaceObject(selected.uid, { mask: tighten(mask), rings: null });
    }
    if (mode !== "new" && current) {
      const mask = mode === "add" ? union(current.mask, region.mask, view.width, view.height) : subtract(current.mask, region.mask);
      return setPending([{ ...region, mask, current: true }]);
    }
    const clicks = prompts.points && params[prompts.points] ? params[prompts.points] : null;
    setPending([{ ...region, current: true, clicks, clicksMask: region.mask }]);
  }

  // The clicks that made a proposal's or an object's mask, while it is still that mask (any other edit
  // of the mask, or an undo past it, makes a new mask object and the history no longer applies).
  const clicksOf = (item) => (item.clicks && item.clicksMask === item.mask ? item.clicks : []);

  async function refineByClick(method, prompts, target, click) {
    let points = [...clicksOf(target), click];
    // the method needs a positive click: without one, the point deepest inside the mask stands for it
    if (!points.some(c => c[2] === 1)) points = [[...innerPoint(target.mask), 1], ...points];
    const regions = await runMethod(method, { [prompts.points]: points, [prompts.mask]: toRuns(target.mask) });
    if (!regions) return;
    const mask = regions.length ? tighten(regions[0].mask) : null;
    if (!mask || !mask.w) return message(`${method}: the click left nothing; the mask is unchanged`, true);
    if (state.pending.includes(target)) return setPending([{ ...target, mask, clicks: points, clicksMask: mask }]);
    if (!state.objects.includes(target)) return;  // edited meanwhile
    replaceObject(target.uid, { mask, rings: null, clicks: points, clicksMask: mask });
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
    if (target) return replaceObject(target.uid, { mask: result, rings: null });
    const created = makeObject(result, { source: "brush" });
    commit([...state.objects, created], created.uid);
  }

  // ---------------------------------------------------------------- polygon
  // state.sketch.rings: the rings being drawn or edited; while drawing, the last ring is open.
  function vertexAt(sx, sy) {
    for (const [k, ring] of (state.sketch.rings || []).entries()) {
      const i = ring.findIndex(([x, y]) => { const [px, py] = view.toScreen(x, y); return Math.hypot(px - sx, py - sy) < 7; });
      if (i >= 0) return [k, i];
    }
    return null;
  }

  function closePolygon() {
    const rings = (state.sketch.rings || []).filter(r => r.length >= 3);
    if (!rings.length) return;
    const mask = fromRings(rings, view.width, view.height);
    const editing = state.sketch.editing;
    state.sketch = {};
    if (!mask.w) return view.draw();
    if (editing && state.objects.some(o => o.uid === editing)) {
      replaceObject(editing, { mask, rings });
    } else {
      const created = makeObject(mask, { source: "polygon", rings });
      commit([...state.objects, created], created.uid);
    }
    editPolygonOfSelected();
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
    if (state.tool === "box") state.sketch = { box: [...clamp(p), ...clamp(p)], strokes: [], refine: event.shiftKey };
    if (state.tool === "fg" || state.tool === "bg") {
      state.sketch.strokes = state.sketch.strokes || [];
      drag.stroke = { fg: state.tool === "fg", points: [clamp(p)] };
      state.sketch.strokes.push(drag.stroke);
    }
    if (state.tool === "polygon") {
      const hit = vertexAt(sx, sy), rings = state.sketch.rings || [];
      const open = !state.sketch.closed && rings.length ? rings[rings.length - 1] : null;
      if (hit && open && hit[0] === rings.length - 1 && hit[1] === 0 && open.length >= 3) { drag = null; closePolygon(); return; }
      if (hit && event.shiftKey && state.sketch.closed && rings[hit[0]].length > 3) {  // shift-click removes a vertex
        rings[hit[0]].splice(hit[1], 1);
        drag = null;
        state.sketch.closed = false; closePolygon(); return;
      }
      if (hit) drag.vertex = hit;
      else if (open && inside(p)) {
        open.push(clamp(p));
        drag.vertex = [rings.length - 1, open.length - 1];
      } else if (!rings.length || state.sketch.closed) {
        if (state.sketch.closed) select(null);
        state.sketch = { rings: [[clamp(p)]] };
        drag.vertex = [0, 0];
      }
    }
    view.draw();
  });

  canvas.addEventListener("pointermove", (event) => {
    const box = canvas.getBoundingClientRect();
    const sx = event.clientX - box.left, sy = event.clientY - box.top, p = point(event);
    if (state.tool === "brush" || state.tool === "eraser") { state.sketch.cursor = [p[0], p[1], brushRadius()]; if (!drag) view.draw(); }
    if (!drag) {  // hover: the proposal under the pointer, else the object
      const hit = [...state.pending].reverse().find(r => contains(r.mask, p[0], p[1])) || topObjectAt(p);
      const hover = hit ? (hit.uid || hit) : null;
      if (hover !== state.hover) { state.hover = hover; view.draw(); }
      return;
    }
    if (Math.hypot(sx - drag.sx, sy - drag.sy) > 3) drag.moved = true;
    if (drag.panning) { view.pan(sx - drag.last[0], sy - drag.last[1]); drag.last = [sx, sy]; return; }
    if (state.tool === "box") state.sketch.box = [...drag.start.map((v, i) => clamp(drag.start)[i]), ...clamp(p)];
    if (drag.stroke) drag.stroke.points.push(clamp(p));
    if (drag.vertex !== undefined) state.sketch.rings[drag.vertex[0]][drag.vertex[1]] = clamp(p);
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
      if (!d.moved && state.tool === "pan") {
        const proposal = [...state.pending].reverse().find(r => !r.current && contains(r.mask, p[0], p[1]));
        if (proposal) return acceptPending(proposal);
        const hit = topObjectAt(p);
        select(hit ? hit.uid : null);
      }
      return;
    }
    if (state.tool === "box") {
      const [x0, y0, x1, y1] = state.sketch.box;
      if (Math.abs(x1 - x0) < 2 || Math.abs(y1 - y0) < 2) { state.sketch = {}; view.draw(); return; }
      await runGrabcut();
    } else if (state.tool === "fg" || state.tool === "bg") {
      await runGrabcut();
    } else if (state.tool === "click" && inside(p)) {
      await runClick(p, event.altKey ? "cut" : event.shiftKey ? "add" : "new");
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
  canvas.addEventListener("pointerleave", () => { if (state.hover) { state.hover = null; view.draw(); } });
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
    if (key === "?") return toggleHelp();
    if (key === "Escape" && !document.getElementById("help").hidden) return toggleHelp(false);
    if (lower === "l") return toggleOutlineOnly();
    if (lower === "m") return proposeWithModel();
    if (KEYS[lower]) return setTool(KEYS[lower]);
    if (lower === "j" || key === "PageDown") return step(1);
    if (lower === "k" || key === "PageUp") return step(-1);
    if (lower === "d") return toggleDone();
    if (key === "Enter") return state.tool === "polygon" ? closePolygon() : acceptPending();
    if (key === "Escape") {
      if (!state.pending.length && !Object.keys(state.sketch).length && state.selected) return select(null);
      rejectPending(); return view.draw();
    }
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
