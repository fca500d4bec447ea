// The annotator page: images, classes, objects, undo/redo and autosave. Tools live in tools.js.
import { api, withToken } from "./api.js";
import { fromRuns, toRuns, area, distinctColor, shade } from "./masks.js";
import { View } from "./view.js";
import { installTools } from "./tools.js";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#fabed4", "#469990"];

export const state = {
  images: [], current: null, objects: [], classes: [], activeClass: null, selected: null, hover: null,
  pending: [], tool: "box", undo: [], redo: [], saved: new Map(), sketch: {}, methods: [], models: [],
  filter: "all", opacity: 0.45, outlineOnly: false,
};
const view = new View($("canvas"));
view.layers = () => {
  state.objects.forEach((obj, i) => { obj.color = objectColor(obj, i); });
  return { objects: state.objects, pending: state.pending, sketch: state.sketch, selected: state.selected,
           hover: state.hover, opacity: state.opacity, outlineOnly: state.outlineOnly };
};

export function classColor(id) {
  const found = state.classes.find(c => c.id === id);
  return found ? found.color : "#cccccc";
}

// Objects of one class share its hue, each a little lighter or darker than the last, so two of them
// side by side differ; objects without a class get distinct hues.
function objectColor(obj, index) {
  if (obj.class_id === null || !state.classes.some(c => c.id === obj.class_id)) return distinctColor(index + 3);
  return shade(classColor(obj.class_id), [0, 0.35, -0.3, 0.6, -0.5][index % 5]);
}

export function message(text, error = false) {
  $("message").textContent = text;
  $("message").title = text;
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
export function shownImages() {
  return state.images.filter(i => state.filter === "all" || (state.filter === "done") === Boolean(i.done));
}

// One thumbnail element per image, kept across renders (the list is redrawn after every save);
// lazy, so a folder of thousands of images only fetches the ones scrolled into view.
const thumbs = new Map();
function thumbnail(image) {
  if (!thumbs.has(image.id)) {
    const img = document.createElement("img");
    img.className = "thumb"; img.alt = ""; img.loading = "lazy"; img.decoding = "async";
    img.src = withToken(`api/images/${image.id}/thumbnail?size=${window.devicePixelRatio > 1 ? 128 : 64}`);
    thumbs.set(image.id, img);
  }
  return thumbs.get(image.id);
}

function renderImages() {
  const list = $("images");
  list.replaceChildren(...shownImages().map((image) => {
    const index = state.images.indexOf(image);
    const li = document.createElement("li");
    li.dataset.id = image.id;
    li.className = state.current && state.current.id === image.id ? "current" : "";
    if (image.done) li.classList.add("done");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = (image.done ? "\u2713 " : "") + image.path;
    name.title = image.path;
    const count = document.createElement("span");
    count.className = "count" + (image.objects ? "" : " zero");
    count.textContent = image.objects;
    count.title = `${image.objects} object(s)`;
    li.append(thumbnail(image), name, count);
    li.onclick = () => openImage(index);
    return li;
  }));
  const annotated = state.images.filter(i => i.objects > 0).length;
  const done = state.images.filter(i => i.done).length;
  $("image-count").textContent = `${annotated}/${state.images.length} annotated, ${done} done`;
  const filters = { all: state.images.length, todo: state.images.length - done, done };
  for (const option of $("image-filter").options) option.textContent = `${option.dataset.label} (${filters[option.value]})`;
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
  state.pending = []; state.sketch = {}; state.undo = []; state.redo = []; state.selected = null; state.hover = null;
  setPending([]);
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

// The next or previous image of the list as filtered (all, to do, done).
export function step(delta) {
  const shown = shownImages();
  if (!shown.length) return;
  let index = shown.indexOf(state.current);
  if (index < 0) index = delta > 0 ? -1 : shown.length;
  const next = shown[Math.min(shown.length - 1, Math.max(0, index + delta))];
  openImage(state.images.indexOf(next));
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
    name.className = "name";
    name.textContent = `${i < 9 ? i + 1 + " " : ""}${cls.name}`;
    const rename = document.createElement("button");
    rename.textContent = "\u270e"; rename.title = "rename"; rename.className = "rename";
    rename.onclick = async (e) => {
      e.stopPropagation();
      const renamed = prompt("class name", cls.name);
      if (renamed && renamed.trim() && renamed.trim() !== cls.name) await updateClass(cls.id, { name: renamed.trim() });
    };
    name.ondblclick = rename.onclick;
    const remove = document.createElement("button");
    remove.textContent = "\u2715"; remove.title = "delete class"; remove.className = "delete";
    remove.onclick = (e) => { e.stopPropagation(); deleteClass(cls); };
    li.append(color, name, rename, remove);
    li.onclick = () => chooseClass(cls.id);
    return li;
  }));
}

async function updateClass(id, fields) {
  try {
    const updated = await api("PATCH", `api/classes/${id}`, fields);
    state.classes = state.classes.map(c => (c.id === id ? { ...c, ...updated } : c));
    renderClasses(); renderObjects(); view.draw();
  } catch (error) { message(error.message, true); }
}

// Deleting a class keeps its objects, without a class; the question says how many that is.
async function deleteClass(cls) {
  await flush();
  const [fresh] = (await api("GET", "api/classes")).filter(c => c.id === cls.id);
  const count = fresh ? fresh.objects : 0;
  const what = count ? `Its ${count} object(s) stay, without a class ("(none)").` : "No object has it.";
  if (!confirm(`Delete class "${cls.name}"? ${what}`)) return;
  try {
    const result = await api("DELETE", `api/classes/${cls.id}`);
    state.classes = state.classes.filter(c => c.id !== cls.id);
    for (const obj of state.objects) {  // the server already unclassed them: no save needed
      if (obj.class_id !== cls.id) continue;
      obj.class_id = null;
      obj.canvas = null;
    }
    if (state.activeClass === cls.id) await setActiveClass(state.classes.length ? state.classes[0].id : null);
    renderClasses(); renderObjects(); view.draw();
    message(`class "${cls.name}" deleted; ${result.unclassed} object(s) now without a class`);
  } catch (error) { message(error.message, true); }
}

async function setActiveClass(id) {
  state.activeClass = id;
  renderClasses();
  try { await api("PUT", "api/settings", { active_class: id }); } catch (error) { message(error.message, true); }
}

// Make `id` the class of new objects (remembered for the project) and give it to the selected object.
export function chooseClass(id) {
  setActiveClass(id);
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
    await setActiveClass(cls.id);  // a class just added is the one you mean to use
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
    swatch.className = "swatch"; swatch.style.background = obj.color || classColor(obj.class_id);
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
    li.onmouseenter = () => { state.hover = obj.uid; view.draw(); };
    li.onmouseleave = () => { if (state.hover === obj.uid) { state.hover = null; view.draw(); } };
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
  pending.forEach((p, i) => { if (!p.color) p.color = distinctColor(i); });
  state.pending = pending;
  if (state.hover && !state.objects.some(o => o.uid === state.hover) && !pending.includes(state.hover)) state.hover = null;
  $("accept").disabled = $("reject").disabled = !pending.length;
  view.draw();
}

export function acceptPending(which = null) {
  const chosen = which ? [which] : state.pending.filter(p => p.current || state.pending.length === 1 || state.tool === "propose");
  if (!chosen.length) return;
  const created = chosen.filter(p => p.mask.w).map(p => makeObject(p.mask, pendingFields(p)));
  setPending(state.pending.filter(p => !chosen.includes(p)));
  if (!which) state.sketch = {};
  commit([...state.objects, ...created], created.length ? created[created.length - 1].uid : state.selected);
}

// A proposal's source and score, its clicks (so later clicks refine it), and its class when a model
// named one the project has.
function pendingFields(p) {
  const fields = { source: p.source, score: p.score, clicks: p.clicks, clicksMask: p.clicksMask };
  const cls = p.class_name && state.classes.find(c => c.name === p.class_name);
  if (cls) fields.class_id = cls.id;
  return fields;
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
    return result.regions.map(r => ({ mask: fromRuns(r.mask), score: r.score, source: method, class_name: r.class_name }));
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
$("propose-accept-all").onclick = () => { const all = state.pending; setPending([]); commit([...state.objects, ...all.map(p => makeObject(p.mask, pendingFields(p)))]); };
$("propose-reject-all").onclick = () => setPending([]);
$("accept").onclick = () => acceptPending();
$("reject").onclick = () => rejectPending();
$("undo").onclick = undo;
$("done").onclick = toggleDone;
$("redo").onclick = redo;
$("export-format").onchange = () => { $("export").href = withToken(`api/export?format=${$("export-format").value}`); };
// Export: save first, fetch the file, hand it to the browser as a download and say what the format
// could not hold (VOC and label PNGs flatten overlapping objects), from the X-Seglab-Warnings header.
$("export").addEventListener("click", async (event) => {
  event.preventDefault();
  await flush();
  const format = $("export-format").value;
  message(`exporting ${format}…`);
  try {
    const response = await fetch(withToken(`api/export?format=${format}`));
    if (!response.ok) throw new Error(`${response.status}: ${(await response.json()).detail}`);
    const notes = JSON.parse(decodeURIComponent(response.headers.get("X-Seglab-Warnings") || "%5B%5D"));
    const name = (/filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "") || [])[1] || `export-${format}`;
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url; link.download = name;
    document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    if (notes.length) message(`${format}: ${notes.length} warning(s): ${notes.join("; ")}`, true);
    else message(`exported ${name}`);
    document.body.dataset.exported = format;
  } catch (error) { message(error.message, true); }
});

// ------------------------------------------------------------------ start
async function start() {
  try {
    const [info, images, classes, methods, settings] = await Promise.all([
      api("GET", "api/info"), api("GET", "api/images"), api("GET", "api/classes"), api("GET", "api/methods"),
      api("GET", "api/settings")]);
    $("project-name").textContent = info.name;
    document.title = `${info.name} · seglab annotator`;
    state.images = images; state.classes = classes;
    // the remembered active class, else the first one
    state.activeClass = classes.some(c => c.id === settings.active_class) ? settings.active_class : (classes[0]?.id ?? null);
    state.allMethods = methods;
    state.methods = methods.filter(m => m.kind !== "deep");
    renderClickMethods(methods);
    $("propose-method").replaceChildren(...state.methods.map(m => new Option(`${m.name} (${m.kind})`, m.name)));
    $("propose-method").value = state.methods.some(m => m.name === "felzenszwalb") ? "felzenszwalb" : state.methods[0]?.name;
    renderProposeForm();
    $("export").href = withToken("api/export?format=coco");
    $("class-color").value = PALETTE[classes.length % PALETTE.length];
    renderClasses();
    renderImages();
    installTools({ state, view });
    await refreshModels();
    if (images.length) await openImage(0);
    else message("no images in this folder");
    document.body.dataset.ready = "1";
  } catch (error) {
    message(error.message, true);
  }
}

// ------------------------------------------------------------------ view controls, help, filter
$("opacity").addEventListener("input", () => { state.opacity = Number($("opacity").value) / 100; view.draw(); });
$("outline-only").addEventListener("change", () => { state.outlineOnly = $("outline-only").checked; view.draw(); });
export function toggleOutlineOnly() { $("outline-only").checked = !$("outline-only").checked; $("outline-only").dispatchEvent(new Event("change")); }
export function toggleHelp(show = $("help").hidden) { $("help").hidden = !show; }
$("help-button").onclick = () => toggleHelp();
$("help-close").onclick = () => toggleHelp(false);
$("image-filter").addEventListener("change", () => { state.filter = $("image-filter").value; renderImages(); });

// The click tool runs "prompt" when the server lists it, else the methods that declared a point
// prompt ("points" / "seeds" in their `prompts`), plus the superpixel methods (a click picks one).
export function methodPrompts(name) {
  const info = (state.allMethods || []).find(m => m.name === name);
  return info && info.prompts && !Array.isArray(info.prompts) ? info.prompts : {};
}

export function clickParams(name, x, y) {
  const prompts = methodPrompts(name);
  if (prompts.points) return { [prompts.points]: [[x, y, 1]] };
  if (prompts.seeds) return { [prompts.seeds]: [[x, y]] };
  return {};  // a superpixel method: the click picks the region under it
}

function renderClickMethods(methods) {
  const names = new Set(methods.map(m => m.name));
  // methods that declared click prompts first (positive/negative points before seeds), then superpixels
  const withPoints = methods.filter(m => m.prompts && m.prompts.points).map(m => m.name);
  const withSeeds = methods.filter(m => m.prompts && m.prompts.seeds && !m.prompts.points).map(m => m.name);
  const superpixels = methods.filter(m => m.kind === "graph").map(m => m.name);
  const order = [...withPoints, ...withSeeds, ...superpixels].filter((n, i, all) => names.has(n) && all.indexOf(n) === i);
  const label = { prompt: "prompt (points)", region_growing: "region growing", slic: "superpixel (SLIC)", felzenszwalb: "superpixel (FH)" };
  $("click-method").replaceChildren(...order.map(n => new Option(label[n] || n, n)));
  $("click-method").value = order[0];
}

// ------------------------------------------------------------------ learning
async function refreshModels(select = null) {
  try { state.models = await api("GET", "api/models"); } catch { state.models = []; }
  $("model-select").replaceChildren(...state.models.map(m => {
    const miou = m.metrics && m.metrics.miou !== undefined ? ` mIoU ${m.metrics.miou.toFixed(2)}` : "";
    return new Option(`${m.name} (${m.arch || "?"}, ${m.images ?? "?"} img${miou})`, m.name);
  }));
  if (select) $("model-select").value = select;
  $("propose-model").disabled = !state.models.length;
}

$("learn").onclick = async () => {
  await flush();
  const minutes = Number($("learn-minutes").value) || 1;
  try {
    const job = await api("POST", "api/train", { max_minutes: minutes });
    $("learn").disabled = true;
    document.body.dataset.training = job.id;
    for (;;) {
      const status = await api("GET", `api/train/${job.id}`);
      $("learn-state").textContent = status.state === "running" ? `learning ${Math.round(100 * status.progress)}%` : status.state;
      if (status.state !== "running") {
        if (status.state === "done") {
          await refreshModels(status.model);
          const miou = status.metrics.miou !== undefined ? ` (validation mIoU ${status.metrics.miou.toFixed(3)})` : "";
          message(`learned ${status.model} from ${status.images} Done image(s)${miou}`);
        } else message(`learning failed: ${status.error}`, true);
        document.body.dataset.trained = status.state;
        break;
      }
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
  } catch (error) {
    message(error.message, true);
  } finally {
    $("learn").disabled = false;
    delete document.body.dataset.training;
  }
};

export async function proposeWithModel() {
  const name = $("model-select").value;
  if (!name) return;
  const regions = await runMethod("model", { model: name });
  if (regions) setPending(regions.filter(r => r.class_name !== "background").map(r => ({ ...r, source: `model:${name}` })));
}
$("propose-model").onclick = proposeWithModel;

window.seglab = { state, view, flush, openImage, api };
start();
