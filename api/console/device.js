// One device for the operator: its twin (online, battery, worn, last fix), a chart of a reading
// over 24 h, the commands it takes and what became of them, its recent events and telemetry,
// and the messages refused from it (dead letters) — what an integrator or operator checks.
import {
  ApiError, api, attempt, el, fmtTime, loadSitemap, serverNow, session, syncClock, toast, fill } from "./common.js";
import { applyI18n, t } from "./i18n.js";
import { SiteMap } from "./sitemap.js";

const $ = (id) => document.getElementById(id);
const deviceId = new URLSearchParams(location.search).get("id") || "";
const D = { device: null, points: [], events: [], commands: { available: [], recent: [] }, dead: [], sitemap: null, signal: "" };

async function main() {
  await session(["admin", "operator"], { family: "/family", grid_worker: "/grid" });
  [D.sitemap] = await Promise.all([loadSitemap(api), syncClock(api)]);
  $("signal").addEventListener("change", (ev) => { D.signal = ev.target.value; renderChart(); });
  document.addEventListener("scgw:lang", render);
  await load();
}

async function load() {
  const enc = encodeURIComponent(deviceId);
  try {
    D.device = await api(`/devices/${enc}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    $("device-error").hidden = false;
    $("device-error").textContent = t("dev.notfound");
    return;
  }
  const now = serverNow();
  [D.points, D.events, D.commands, D.dead, D.resident] = await Promise.all([
    api(`/devices/${enc}/telemetry?start=${now - 86400}&end=${now + 1}&max_points=300`).catch(() => []),
    api(`/devices/${enc}/events?limit=50`).catch(() => []),
    api(`/devices/${enc}/commands`).catch(() => ({ available: [], recent: [] })),
    api(`/dead-letters?device_id=${enc}&limit=50`).catch(() => []),
    D.device.resident_id ? api(`/residents/${encodeURIComponent(D.device.resident_id)}`).catch(() => null) : null,
  ]);
  render();
}

function render() {
  const d = D.device;
  if (!d) return;
  applyI18n();
  $("device-view").hidden = false;
  document.title = `${d.id} · scgw`;
  fill($("device-summary"),
    el("h2", {}, el("span", { id: "device-id" }, d.id), el("span", { class: "note" }, t(`kind.${d.kind}`))),
    el("dl", { class: "kv" },
      el("dt", {}, t("dev.vendor")), el("dd", {}, d.vendor || "—"),
      el("dt", {}, t("dev.model")), el("dd", {}, d.model || "—"),
      el("dt", {}, t("dev.place")), el("dd", {}, [d.site, d.building && `${d.building}-${d.unit || ""}`, d.grid].filter(Boolean).join(" · ") || "—"),
      el("dt", {}, t("dev.resident")), el("dd", {}, D.resident ? `${D.resident.name}（${d.resident_id}）` : d.resident_id || "—"),
      el("dt", {}, t("dev.status")), el("dd", {}, d.status)));
  renderTwin();
  renderChart();
  renderCommands();
  renderTables();
}

function renderTwin() {
  const tw = D.device.twin || {};
  const worn = tw.last_telemetry?.worn;
  fill($("twin"),
    el("dt", {}, t("dev.online")), el("dd", { id: "twin-online" }, el("span", { class: `dot${tw.online ? " on" : ""}` }), t(tw.online ? "online.yes" : "online.no")),
    el("dt", {}, t("dev.seen")), el("dd", {}, fmtTime(tw.last_seen, true)),
    el("dt", {}, t("dev.battery")), el("dd", { id: "twin-battery" }, tw.battery_pct == null ? "—" : `${Math.round(tw.battery_pct)}%`),
    worn === undefined ? null : [el("dt", {}, t("dev.worn")), el("dd", { id: "twin-worn", dataset: { worn: String(worn) } }, t(worn ? "dev.worn.yes" : "dev.worn.no"))],
    el("dt", {}, t("dev.fix")), el("dd", { id: "twin-fix" }, tw.location_ts ? `${fmtTime(tw.location_ts, true)}${tw.accuracy_m != null ? ` · ±${Math.round(tw.accuracy_m)} m` : ""}` : "—"));
  const map = new SiteMap($("map"), D.sitemap);
  const at = tw.lat != null ? [tw.lat, tw.lon] : map.fixedAt(D.device.id);
  map.clear("marks");
  if (at) {
    const [x, y] = map.project(at);
    if (tw.accuracy_m) map.layers.marks.append(el("circle", { class: "accuracy", cx: x, cy: y, r: Math.max(tw.accuracy_m, 2) }));
    map.layers.marks.append(el("circle", { class: "wearer", cx: x, cy: y, r: 3 }));
  }
  map.fit(at ? [at] : []);
}

function numericSignals() {
  const keys = new Set();
  for (const p of D.points) for (const [k, v] of Object.entries(p.values)) if (typeof v === "number" && !k.startsWith("location_l")) keys.add(k);
  return [...keys].sort();
}

function renderChart() {
  const signals = numericSignals();
  if (!signals.includes(D.signal)) D.signal = ["heart_rate_bpm", "battery_pct"].find((s) => signals.includes(s)) || signals[0] || "";
  fill($("signal"), ...signals.map((s) => el("option", { value: s, selected: s === D.signal }, t(`sig.${s}`) === `sig.${s}` ? s : t(`sig.${s}`))));
  const pts = D.points.filter((p) => typeof p.values[D.signal] === "number");
  const svg = $("chart");
  svg.setAttribute("viewBox", "0 0 1000 200");
  if (pts.length < 1) {
    svg.replaceChildren(el("text", { x: 500, y: 100, "text-anchor": "middle", "font-size": 16 }, t("dev.nodata")));
    $("chart-labels").replaceChildren();
    return;
  }
  const xs = pts.map((p) => p.ts);
  const ys = pts.map((p) => p.values[D.signal]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs) || 1];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y1 - y0 < 1e-9) { y0 -= 1; y1 += 1; }
  const sx = (x) => (x1 === x0 ? 500 : ((x - x0) / (x1 - x0)) * 980 + 10);
  const sy = (y) => 190 - ((y - y0) / (y1 - y0)) * 180;
  svg.replaceChildren(
    el("line", { class: "axis", x1: 10, y1: 190, x2: 990, y2: 190 }),
    el("polyline", { class: "line", points: pts.map((p) => `${sx(p.ts).toFixed(1)},${sy(p.values[D.signal]).toFixed(1)}`).join(" "), dataset: { points: pts.length } }),
    ...pts.map((p) => el("circle", { cx: sx(p.ts), cy: sy(p.values[D.signal]), r: 2.5, fill: "#1565c0" }, el("title", {}, `${fmtTime(p.ts, true)} · ${p.values[D.signal]}`))));
  fill($("chart-labels"), el("span", {}, fmtTime(x0, true)), el("span", {}, `${y0.toFixed(1)} – ${y1.toFixed(1)}`), el("span", {}, fmtTime(x1, true)));
}

function renderCommands() {
  fill($("command-buttons"), ...D.commands.available.map((name) => el("button", { type: "button", dataset: { command: name }, onclick: () => send(name) },
    t(`cmd.${name}`) === `cmd.${name}` ? name : t(`cmd.${name}`))));
  const head = el("tr", {}, ["dl.time", "cmd.name", "cmd.state", "cmd.result"].map((k) => el("th", {}, t(k))));
  const rows = D.commands.recent.map((c) => el("tr", { dataset: { command: c.id, state: c.state } },
    el("td", {}, fmtTime(c.created_at, true)),
    el("td", {}, c.name + Object.entries(c.args || {}).map(([k, v]) => ` ${k}=${v}`).join("")),
    el("td", {}, t(`cmd.${c.state}`)),
    el("td", {}, el("code", {}, c.result ? JSON.stringify(c.result).slice(0, 120) : "—"))));
  fill($("commands"), el("thead", {}, head), el("tbody", {}, rows.length ? rows : [el("tr", {}, el("td", { colspan: 4, class: "empty" }, t("dev.nodata")))]));
}

async function send(name) {
  const args = name === "open_compartment" ? { compartment: "1" } : {};
  const made = await attempt(() => api(`/devices/${encodeURIComponent(deviceId)}/commands`, { method: "POST", body: { name, args } }));
  if (made) { toast(`${name} → ${t(`cmd.${made.state}`)}`); await load(); }
}

function renderTables() {
  const table = (id, heads, rows, cols) => $(id).replaceChildren(el("thead", {}, el("tr", {}, heads.map((k) => el("th", {}, t(k))))),
    el("tbody", {}, rows.length ? rows : [el("tr", {}, el("td", { colspan: cols, class: "empty" }, t("dev.nodata")))]));
  table("events", ["dl.time", "dev.channel", "dev.type", "dev.seq", "dev.fields"], D.events.map((e) => el("tr", { dataset: { type: e.type } },
    el("td", {}, fmtTime(e.received_at, true)), el("td", {}, e.channel), el("td", {}, e.type), el("td", {}, e.seq ?? "—"),
    el("td", {}, el("code", {}, JSON.stringify(e.fields).slice(0, 160))))), 5);
  const recent = D.points.slice(-20).reverse();
  table("telemetry", ["dl.time", "dev.samples", "dev.fields"], recent.map((p) => el("tr", {},
    el("td", {}, fmtTime(p.ts, true)), el("td", {}, p.samples),
    el("td", {}, el("code", {}, Object.entries(p.values).filter(([k]) => !k.startsWith("location_l")).map(([k, v]) => `${k}=${typeof v === "number" ? Math.round(v * 10) / 10 : v}`).join(" "))))), 3);
  table("dead", ["dl.time", "dl.reason", "dl.detail", "dl.payload"], D.dead.map((r) => el("tr", {},
    el("td", {}, fmtTime(r.received_at, true)), el("td", {}, r.reason), el("td", {}, r.detail),
    el("td", {}, el("code", {}, r.payload_preview.slice(0, 160))))), 4);
}

main();
