// The resident's page behind a door plate's QR code (数字门牌码): no login. /r/<plate link>
// shows the form; /t/<tracking> follows one request through 收集→派发→处置→反馈→办结 and
// takes the rating at the end. Phone first; zh-CN by default, English one tap away.
import { applyI18n, getLang, pick, setLang, t } from "./i18n.js";
import { el, fill, fmtTime, toast } from "./ui.js";

const STEPS = ["collected", "dispatched", "handling", "feedback", "closed"];
const POLL_MS = 30000;
const MINE_KEY = "scgw.requests";
const $ = (id) => document.getElementById(id);
let plate = null;
let photoBlob = null;
let submissionId = newId();
let current = null;

function newId() {  // crypto.randomUUID needs a secure context; plain http on a LAN has none
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function call(path, options = {}) {
  const resp = await fetch(path, { headers: { Accept: "application/json" }, ...options });
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(typeof data.detail === "string" ? data.detail : t("req.err.generic"));
    err.status = resp.status;
    throw err;
  }
  return data;
}

/** The part of a bilingual server message ("中文 (English)") in the chosen language. */
function words(message) {
  const m = /^(.*?)\s*\(([^()]*)\)\s*$/s.exec(message || "");
  if (!m) return message;
  return getLang() === "en" ? m[2] : m[1];
}

function mine() {
  try { return JSON.parse(localStorage.getItem(MINE_KEY) || "[]"); } catch { return []; }
}

function remember(entry) {
  const list = [entry, ...mine().filter((e) => e.track !== entry.track)].slice(0, 20);
  localStorage.setItem(MINE_KEY, JSON.stringify(list));
}

// -- the plate's form --------------------------------------------------------------------

async function openPlate(token) {
  try {
    plate = await call(`/plates/open/${encodeURIComponent(token)}`);
  } catch (err) {
    $("loading").hidden = true;
    $("gone").hidden = false;
    $("gone").textContent = err.status === 404 ? t("req.gone") : words(err.message);
    return;
  }
  plate.token = token;
  $("loading").hidden = true;
  $("plate-view").hidden = false;
  document.body.dataset.plate = plate.code;
  renderPlate();
  document.addEventListener("scgw:lang", renderPlate);
}

function renderPlate() {
  $("unit-label").textContent = getLang() === "en" ? plate.label_en : plate.label;
  const chosen = $("categories").querySelector("input:checked")?.value;
  fill($("categories"), plate.categories.map((c) => el("label", { class: "chip" },
    el("input", { type: "radio", name: "category", value: c.key, checked: c.key === chosen, required: true }),
    el("span", {}, pick(c.zh, c.en)))));
  const list = mine().filter((e) => e.plate === plate.code);
  $("mine").hidden = list.length === 0;
  fill($("mine-list"), list.map((e) => el("li", {}, el("a", { href: `/t/${e.track}` },
    `${e.code} · ${fmtTime(e.at, true)}`))));
}

/** Shrink a phone photo before upload (12 MB → a few hundred KB); the server re-encodes it
 * anyway. A format the browser cannot draw (HEIC on some phones) goes up as it is. */
async function shrink(file) {
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
    const side = plate.photo_max_side_px;
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = el("canvas", { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    return await new Promise((resolve) => canvas.toBlob((b) => resolve(b || file), "image/jpeg", 0.85));
  } catch {
    return file;
  }
}

function dataUrl(blob) {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => resolve("");
    reader.readAsDataURL(blob);
  });
}

function wireForm() {
  const form = $("request-form");
  const text = form.elements.text;
  text.addEventListener("input", () => { $("text-count").textContent = `${text.value.length} / 1000`; });
  form.elements.photo.addEventListener("change", async () => {
    const file = form.elements.photo.files[0];
    $("form-error").textContent = "";
    if (!file) { clearPhoto(); return; }
    if (file.size > plate.photo_max_bytes * 4) {  // even shrinking will not save it
      $("form-error").textContent = t("req.err.photo_big");
      clearPhoto();
      return;
    }
    photoBlob = await shrink(file);
    $("photo-img").src = await dataUrl(photoBlob);  // the page's CSP allows data: images only
    $("photo-preview").hidden = false;
  });
  $("photo-remove").addEventListener("click", clearPhoto);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("form-error").textContent = "";
    const category = form.querySelector("input[name=category]:checked")?.value;
    if (!category) { $("form-error").textContent = t("req.err.category"); return; }
    if (!text.value.trim()) { $("form-error").textContent = t("req.err.text"); text.focus(); return; }
    const data = new FormData();
    data.append("category", category);
    data.append("text", text.value.trim());
    data.append("phone", form.elements.phone.value.trim());
    data.append("submission_id", submissionId);
    if (photoBlob) data.append("photo", photoBlob, "photo.jpg");
    $("submit").disabled = true;
    try {
      const receipt = await call(`/plates/open/${encodeURIComponent(plate.token)}/requests`, { method: "POST", body: data });
      remember({ track: receipt.track, code: receipt.ticket_code, plate: plate.code, token: plate.token, at: Date.now() / 1000 });
      submissionId = newId();
      form.reset();
      clearPhoto();
      history.pushState(null, "", receipt.track_url);
      await openTrack(receipt.track, receipt.ticket_code);
    } catch (err) {
      $("form-error").textContent = words(err.message);
    } finally {
      $("submit").disabled = false;
    }
  });
}

function clearPhoto() {
  photoBlob = null;
  $("request-form").elements.photo.value = "";
  $("photo-preview").hidden = true;
}

// -- following a request -----------------------------------------------------------------

async function openTrack(track, receiptCode = null) {
  $("plate-view").hidden = true;
  $("loading").hidden = true;
  $("track-view").hidden = false;
  $("receipt").hidden = !receiptCode;
  if (receiptCode) $("receipt-code").textContent = receiptCode;
  const known = mine().find((e) => e.track === track);
  $("back-to-plate").hidden = !known;
  if (known) $("back-to-plate").href = `/r/${known.token}`;
  current = track;
  await loadTrack();
}

async function loadTrack() {
  try {
    renderTrack(await call(`/plates/track/${current}`));
  } catch (err) {
    if (err.status === 404) {
      $("track-view").hidden = true;
      $("gone").hidden = false;
      $("gone").textContent = t("req.track.gone");
    } else {
      toast(words(err.message), "error");
    }
  }
}

function renderTrack(v) {
  current = current || v.track;
  document.body.dataset.step = v.step;
  document.body.dataset.state = v.state;
  $("track-code").textContent = v.code;
  $("track-category").textContent = pick(v.category_zh, v.category_en);
  $("track-text").textContent = v.text;
  $("track-photo").hidden = !v.photos;
  $("track-photo").textContent = t("req.photo.sent");
  const reached = STEPS.indexOf(v.step);
  fill($("steps"), v.steps.map((s, i) => el("li", {
    class: i < reached ? "done" : i === reached ? "now" : "todo", dataset: { step: s.step } },
  el("span", { class: "name" }, t(`req.step.${s.step}`)),
  el("span", { class: "when" }, s.at ? fmtTime(s.at, true) : ""))));
  $("result").hidden = !v.result;
  $("result-text").textContent = v.result || "";
  $("rate-form").hidden = !v.can_rate;
  $("rated").hidden = !v.rating;
  if (v.rating) $("rated").textContent = t("req.rated", { n: v.rating });
  else if (v.state === "closed" || v.state === "rejected" || v.state === "duplicate") {
    $("rated").hidden = false;
    $("rated").textContent = t(`req.final.${v.state}`);
  }
}

function wireRating() {
  let stars = 0;
  const draw = () => fill($("stars"), [1, 2, 3, 4, 5].map((n) => el("button", {
    type: "button", role: "radio", "aria-checked": String(n === stars), class: n <= stars ? "star on" : "star",
    "aria-label": t("req.stars", { n }), onclick: () => { stars = n; draw(); } }, "★")));
  draw();
  $("rate-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!stars) { $("rate-error").textContent = t("req.err.stars"); return; }
    $("rate-error").textContent = "";
    try {
      renderTrack(await call(`/plates/track/${current}/rating`, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ rating: stars, note: $("rate-form").elements.note.value.trim() }) }));
    } catch (err) { $("rate-error").textContent = words(err.message); }
  });
  $("reopen").addEventListener("click", async () => {
    const note = $("rate-form").elements.note.value.trim();
    if (!note) { $("rate-error").textContent = t("req.err.reopen"); $("rate-form").elements.note.focus(); return; }
    try {
      renderTrack(await call(`/plates/track/${current}/reopen`, { method: "POST", headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ note }) }));
      toast(t("req.reopened"));
    } catch (err) { $("rate-error").textContent = words(err.message); }
  });
  document.addEventListener("scgw:lang", draw);
}

// -- start ---------------------------------------------------------------------------------

function route() {
  const [, kind, value] = location.pathname.split("/");
  if (kind === "t" && value) openTrack(value);
  else if (kind === "r" && value) openPlate(decodeURIComponent(value));
}

setLang(getLang());
applyI18n();
document.querySelectorAll("[data-action=lang]").forEach((b) => b.addEventListener("click", () => {
  setLang(getLang() === "zh" ? "en" : "zh");
  document.dispatchEvent(new CustomEvent("scgw:lang"));
  if (current && !$("track-view").hidden) loadTrack();
}));
wireForm();
wireRating();
$("refresh").addEventListener("click", loadTrack);
$("copy-link").addEventListener("click", () => {
  navigator.clipboard?.writeText(location.href).then(() => toast(t("req.copied")), () => null);
});
// The status moves while the phone is in a pocket: look again every 30 s while visible.
setInterval(() => { if (current && !document.hidden && !$("track-view").hidden) loadTrack(); }, POLL_MS);
document.addEventListener("visibilitychange", () => { if (current && !document.hidden) loadTrack(); });
window.addEventListener("popstate", () => location.reload());
route();
