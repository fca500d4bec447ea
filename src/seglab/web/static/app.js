// The annotator page: images, classes, objects, undo/redo and autosave. Tools live in tools.js.
import { api, withToken } from "./api.js";
import { fromRuns, toRuns, area } from "./masks.js";
import { View } from "./view.js";
import { installTools } from "./tools.js";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990"];

export const state = {
  images: [], current: null, objects: [], classes: [], activeClass: null, selected: null,
  pending: [], tool: "box", undo: [], redo: [], saved: new Map(), sketch: {}, methods: [],
};
const view = new View($("canvas"));
view.layers = () => {
  for (const obj of state.objects) obj.color = classColor(obj.class_id);
  return { objects: state.objects, pending: state.pending, sketch: state.sketch, selected: state.selected };
};

export function classColor(id) {
  const found = state.classes.find(c => c.id === id);
  return found ? found.color : "#cccccc";
}

export function message(text, error = false) {
  $("message").textContent = text;
  $("message").className = error ? "error" : "";
}

export function uid() {
  return (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)).replace(/[^A-Za-z0-9_-]/g, "");
}

// ------------------------------------------------------------------ objects, history, autosave
export function makeObject(mask, fields = {}) {
  return { uid: uid(), mask, class_id: state.activeClass, visible: true, source: "manual", score: null,
           order: Date.now() + Math.random(), ...fields };
}

export function commit(objects, selected = state.selected) {
  state.undo.push({ objects: state.objects, selected: state.selected });
  if (state.undo.length > 200) state.undo.shift();
  state.redo = [];
  state.objects = objects;
  state.selected = objects.some(o => o.uid === selected) ? selected : null;
  changed();
}

export function replaceObject(uidValue, fields) {
  commit(state.objects.map(o => (o.uid === uidValue ? { ...o, ...fields } : o)));
}

function travel(from, to) {
  if (!from.length) return;
  to.push({ objects: state.objects, selected: state.selected });
  const step = from.pop();
  state.objects = step.objects;
  state.selected = step.selected;
  changed();
}
export const undo = () => travel(state.undo, state.redo);
export const redo = () => travel(state.redo, state.undo);

function changed() {
  renderObjects();
  view.draw();
  scheduleSave();
}

let saveTimer = null, saving = null;
function setSaveState(value) {
  $("save-state").dataset.state = value;
  $("save-state").textContent = value;
}

function scheduleSave() {
  setSaveState("unsaved");
  clearTimeout(saveTimer);
  saveTimer = setTimeout(flush, 300);
}

export async function flush() {
  clearTimeout(saveTimer);
  while (saving) await saving;
  const image = state.current;
  if (!image) return;
  const current = new Map(state.objects.map(o => [o.uid, o]));
  const upserts = state.objects.filter(o => state.saved.get(o.uid) !== o);
  const deletes = [...state.saved.keys()].filter(k => !current.has(k));
  if (!upserts.length && !deletes.length) { setSaveState("saved"); return; }
  setSaveState("saving");
  const body = {
    upserts: upserts.map(o => ({ uid: o.uid, mask: toRuns(o.mask), class_id: o.class_id, visible: o.visible,
                                 source: o.source, score: o.score, order: o.order })),
    deletes,
  };
  saving = (async () => {
    try {
      const result = await api("POST", `api/images/${image.id}/save`, body);
      for (const o of upserts) state.saved.set(o.uid, o);
      for (const k of deletes) state.saved.delete(k);
      image.objects = result.objects;
      renderImages();
    } catch (error) {
      message("save failed: " + error.message, true);
      setSaveState("error");
      setTimeout(scheduleSave, 2000);
      throw error;
    } finally {
      saving = null;
    }
  })();
  try { await saving; } catch { return; }
  const dirty = state.current === image &&
    (state.objects.some(o => state.saved.get(o.uid) !== o) || state.saved.size !== state.objects.length);
  if (dirty) scheduleSave(); else setSaveState("saved");
}
window.addEventListener("beforeunload", (event) => {
  if ($("save-state").dataset.state !== "saved") { flush(); event.preventDefault(); }
});

// ------------------------------------------------------------------ images
function renderImages() {
  const list = $("images");
  list.replaceChildren(...state.images.map((image, index) => {
    const li = document.createElement("li");
    li.dataset.id = image.id;
    li.className = state.current && state.current.id === image.id ? "current" : "";
    if (image.done) li.classList.add("done");
    const name = document.createElement("span");
    name.textContent = (image.done ? "\u2713 " : "") + image.path;
    const count = document.createElement("span");
    count.className = "count" + (image.objects ? "" : " zero");
    count.textContent = image.objects;
    li.append(name, count);
    li.onclick = () => openImage(index);
    return li;
  }));
  const annotated = state.images.filter(i => i.objects > 0).length;
  const done = state.images.filter(i => i.done).length;
  $("image-count").textContent = `${annotated}/${state.images.length} annotated, ${done} done`;
  const current = Boolean(state.current && state.current.done);
  $("done").classList.toggle("active", current);
  $("done").setAttribute("aria-pressed", String(current));
}

export async function toggleDone() {
  const image = state.current;
  if (!image) return;
  try {
    const result = await api("POST", `api/images/${image.id}/done`, { done: !image.done });
    image.done = result.done;
    renderImages();
    message(`${image.path}: ${image.done ? "done" : "not done"}`);
  } catch (error) {
    message(error.message, true);
  }
}

export async function openImage(index) {
  if (index < 0 || index >= state.images.length) return;
  await flush();
  const image = state.images[index];
  state.current = image;
  state.pending = []; state.sketch = {}; state.undo = []; state.redo = []; state.selected = null;
  renderImages();
  const [objects, bitmap] = await Promise.all([
    api("GET", `api/images/${image.id}/objects`),
    loadImage(withToken(`api/images/${image.id}/preview?max_side=2048`)),
  ]);
  if (state.current !== image) return;
  state.objects = objects.map(o => ({ ...o, mask: fromRuns(o.mask) }));
  state.saved = new Map(state.objects.map(o => [o.uid, o]));
  view.show(bitmap, image.width, image.height, ([x0, y0, x1, y1], maxSide) =>
    withToken(`api/images/${image.id}/region?x0=${x0}&y0=${y0}&x1=${x1}&y1=${y1}&max_side=${maxSide}`));
  renderObjects();
  setSaveState("saved");
  document.body.dataset.loaded = String(image.id);
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("cannot load " + url));
    img.src = url;
  });
}

export function step(delta) {
  const index = state.images.indexOf(state.current);
  openImage(Math.min(state.images.length - 1, Math.max(0, index + delta)));
}

// ------------------------------------------------------------------ classes
function renderClasses() {
  $("classes").replaceChildren(...state.classes.map((cls, i) => {
    const li = document.createElement("li");
    li.dataset.id = cls.id;
    li.className = cls.id === state.activeClass ? "active" : "";
    const color = document.createElement("input");
    color.type = "color"; color.value = cls.color; color.title = "colour";
    color.onclick = (e) => e.stopPropagation();
    color.onchange = async () => { await updateClass(cls.id, { color: color.value }); };
    const name = document.createElement("span");
    name.textContent = `${i < 9 ? i + 1 + " " : ""}${cls.name}`;
    name.ondblclick = async () => {
      const renamed = prompt("class name", cls.name);
      if (renamed) await updateClass(cls.id, { name: renamed });
    };
    li.append(color, name);
    li.onclick = () => chooseClass(cls.id);
    return li;
  }));
}

async function updateClass(id, fields) {
  try {
    const updated = await api("PATCH", `api/classes/${id}`, fields);
    state.classes = state.classes.map(c => (c.id === id ? updated : c));
    renderClasses(); renderObjects(); view.draw();
  } catch (error) { message(error.message, true); }
}

// Make `id` the class of new objects and give it to the selected object.
export function chooseClass(id) {
  state.activeClass = id;
  renderClasses();
  const selected = state.objects.find(o => o.uid === state.selected);
  if (selected && selected.class_id !== id) replaceObject(selected.uid, { class_id: id });
}

$("class-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("class-name").value.trim();
  if (!name) return;
  try {
    const cls = await api("POST", "api/classes", { name, color: $("class-color").value });
    if (!state.classes.some(c => c.id === cls.id)) state.classes.push(cls);
    $("class-name").value = "";
    $("class-color").value = PALETTE[state.classes.length % PALETTE.length];
    renderClasses();
  } catch (error) { message(error.message, true); }
});

// ------------------------------------------------------------------ objects
export function renderObjects() {
  $("object-count").textContent = state.objects.length;
  $("objects").replaceChildren(...state.objects.map((obj, i) => {
    const li = document.createElement("li");
    li.dataset.uid = obj.uid;
    li.className = obj.uid === state.selected ? "selected" : "";
    const visible = document.createElement("input");
    visible.type = "checkbox"; visible.checked = obj.visible; visible.title = "visible (H)";
    visible.onclick = (e) => { e.stopPropagation(); replaceObject(obj.uid, { visible: visible.checked }); };
    const swatch = document.createElement("span");
    swatch.className = "swatch"; swatch.style.background = classColor(obj.class_id);
    const name = document.createElement("span");
    name.className = "name"; name.textContent = `#${i + 1} ${obj.source} (${area(obj.mask)} px)`;
    const cls = document.createElement("select");
    cls.title = "class";
    cls.append(new Option("(none)", ""), ...state.classes.map(c => new Option(c.name, c.id)));
    cls.value = obj.class_id === null ? "" : String(obj.class_id);
    cls.onclick = (e) => e.stopPropagation();
    cls.onchange = () => replaceObject(obj.uid, { class_id: cls.value === "" ? null : Number(cls.value) });
    const remove = document.createElement("button");
    remove.textContent = "✕"; remove.title = "delete (Del)"; remove.className = "delete";
    remove.onclick = (e) => { e.stopPropagation(); deleteObject(obj.uid); };
    li.append(visible, swatch, name, cls, remove);
    li.onclick = () => select(obj.uid);
    return li;
  }));
  $("undo").disabled = !state.undo.length;
  $("redo").disabled = !state.redo.length;
}

export function select(uidValue) {
  state.selected = uidValue;
  renderObjects();
  view.draw();
}

export function deleteObject(uidValue) {
  commit(state.objects.filter(o => o.uid !== uidValue));
}

// ------------------------------------------------------------------ proposals
export function setPending(pending) {
  state.pending = pending;
  $("accept").disabled = $("reject").disabled = !pending.length;
  view.draw();
}

export function acceptPending(which = null) {
  const chosen = which ? [which] : state.pending.filter(p => p.current || state.pending.length === 1 || state.tool === "propose");
  if (!chosen.length) return;
  const created = chosen.filter(p => p.mask.w).map(p => makeObject(p.mask, { source: p.source, score: p.score }));
  setPending(state.pending.filter(p => !chosen.includes(p)));
  if (!which) state.sketch = {};
  commit([...state.objects, ...created], created.length ? created[created.length - 1].uid : state.selected);
}

export function rejectPending() {
  state.sketch = {};
  setPending(state.tool === "propose" ? state.pending.filter(p => !p.current) : []);
}

export async function runMethod(method, params, extra = {}) {
  if (!state.current) return null;
  message(`running ${method}…`);
  document.body.dataset.busy = "1";
  try {
    const result = await api("POST", `api/images/${state.current.id}/segment`, { method, params, ...extra });
    message(`${method}: ${result.regions.length} region(s) in ${(result.time_s ?? 0).toFixed(2)} s`);
    return result.regions.map(r => ({ mask: fromRuns(r.mask), score: r.score, source: method }));
  } catch (error) {
    message(error.message, true);
    return null;
  } finally {
    delete document.body.dataset.busy;
  }
}

function renderProposeForm() {
  const info = state.methods.find(m => m.name === $("propose-method").value);
  const box = $("propose-params");
  box.replaceChildren();
  if (!info) return;
  for (const p of info.parameters) {
    if (p.type.includes("array")) continue;
    const label = document.createElement("label");
    label.textContent = p.name; label.title = p.doc;
    let input;
    if (p.choices) {
      input = document.createElement("select");
      input.append(...p.choices.map(c => new Option(String(c), c === null ? "none" : String(c))));
      input.value = p.default === null ? "none" : String(p.default);
    } else {
      input = document.createElement("input");
      input.placeholder = p.default === null ? "" : JSON.stringify(p.default);
      input.title = `${p.type}: ${p.doc}`;
    }
    input.dataset.param = p.name;
    input.dataset.initial = input.value;
    box.append(label, input);
  }
}

$("propose-method").addEventListener("change", renderProposeForm);
$("propose-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const params = {};
  for (const input of $("propose-params").querySelectorAll("[data-param]")) {
    if (input.value !== "" && input.value !== input.dataset.initial) params[input.dataset.param] = input.value;
  }
  const regions = await runMethod($("propose-method").value, params, { max_regions: 300 });
  if (regions) setPending(regions);
});
$("propose-accept-all").onclick = () => { const all = state.pending; setPending([]); commit([...state.objects, ...all.map(p => makeObject(p.mask, { source: p.source, score: p.score }))]); };
$("propose-reject-all").onclick = () => setPending([]);
$("accept").onclick = () => acceptPending();
$("reject").onclick = () => rejectPending();
$("undo").onclick = undo;
$("done").onclick = toggleDone;
$("redo").onclick = redo;
$("export-format").onchange = () => { $("export").href = withToken(`api/export?format=${$("export-format").value}`); };
$("export").addEventListener("click", async (event) => {
  if ($("save-state").dataset.state === "saved") return;
  event.preventDefault();
  await flush();
  $("export").click();
});

// ------------------------------------------------------------------ start
async function start() {
  try {
    const [info, images, classes, methods] = await Promise.all([
      api("GET", "api/info"), api("GET", "api/images"), api("GET", "api/classes"), api("GET", "api/methods")]);
    $("project-name").textContent = info.name;
    document.title = `${info.name} · seglab annotator`;
    state.images = images; state.classes = classes;
    state.methods = methods.filter(m => m.kind !== "deep");
    $("propose-method").replaceChildren(...state.methods.map(m => new Option(`${m.name} (${m.kind})`, m.name)));
    $("propose-method").value = state.methods.some(m => m.name === "felzenszwalb") ? "felzenszwalb" : state.methods[0]?.name;
    renderProposeForm();
    $("export").href = withToken("api/export?format=coco");
    $("class-color").value = PALETTE[classes.length % PALETTE.length];
    renderClasses();
    renderImages();
    installTools({ state, view });
    if (images.length) await openImage(0);
    else message("no images in this folder");
    document.body.dataset.ready = "1";
  } catch (error) {
    message(error.message, true);
  }
}

window.seglab = { state, view, flush, openImage, api };
start();
