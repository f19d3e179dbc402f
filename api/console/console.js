// Operator console: live alerts as incidents, the site map, the ticket board, devices, dead
// letters. Live changes are merged as they arrive and drawn by `redraw` (the alert list first
// and throttled, the rest just after), so a flood of events costs a few renders, not one each.
import {
  api, attempt, beep, chime, connectLive, el, fmtTime, loadSitemap, sawServerTime, session,
  syncClock, toast, fill } from "./common.js";
import { AlertPanel, alertTitle } from "./alert-panel.js";
import { RANK, needsAck, pagedAt } from "./incidents.js";
import { applyI18n, t } from "./i18n.js";
import { SiteMap } from "./sitemap.js";
import { boardCard, refreshSla } from "./tickets.js";
import { askForm } from "./ui.js";

const BOARD_STATES = ["collected", "dispatched", "handling", "feedback", "escalated", "transferred", "closed"];
const SOUNDING = new Set(["opened", "escalated", "reescalated", "unmuted"]);
const ALERT_LIMIT = 5000;
const PULSING = 20;
const S = { tickets: new Map(), ticketByAlert: new Map(), devices: [], residents: {}, sitemap: null, map: null, panel: null, truncated: false, summary: null };
const dirty = new Set();
const THROTTLE_MS = 150;
const URGENT_MS = 30;
let listDue = 0;
const REST_DELAY_MS = 60;
let lastList = -Infinity;
let listTimer = 0;
let restTimer = 0;
// When each device's latest alert arrived on the socket (wall clock): bench/console_flood.py
// splits "commit → visible" into the network and the page's own part with it.
const received = new Map();
window.scgwReceived = (device) => received.get(device);
let boardReload = null;

const $ = (id) => document.getElementById(id);

async function main() {
  const me = await session(["admin", "operator"], { family: "/family", grid_worker: "/grid" });
  $("admin-link").hidden = me.role !== "admin";  // the admin pages: users, devices, rules, audit
  wireTabs();
  const [config, sitemap] = await Promise.all([syncClock(api), loadSitemap(api)]);
  S.sitemap = sitemap;
  S.map = new SiteMap($("map"), S.sitemap);
  if (!S.sitemap) $("map-note").textContent = t("map.nomap");
  S.panel = new AlertPanel($("alert-panel"), {
    names: () => S.residents, windowS: config.incident_window_s, ticketFor,
    act: { ack, clear: clearAlert, silence, locate },
  });
  await Promise.all([loadResidents(), loadDevices()]);
  // Alerts and the board load once the live stream is subscribed (and again on a reconnect).
  await connectLive(onEvent, () => Promise.all([loadAlerts(), loadBoard()]).then(renderAll));
  // From navigation start (a returning operator's tab: session cookie → token → data → list).
  document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
  // The stream carries alerts and tickets; device twins (positions, battery) are polled.
  setInterval(() => loadDevices().then(() => redraw("map", "counts", "devices")), 15000);
  setInterval(() => syncClock(api).catch(() => null), 60000);
  setInterval(() => { S.panel.tick(); }, 1000);
  setInterval(() => refreshSla($("board")), 30000);
  document.addEventListener("scgw:lang", renderAll);
  $("board-refresh").addEventListener("click", () => loadBoard().then(() => redraw("board")));
  $("dead-refresh").addEventListener("click", loadDead);
  $("device-kind").addEventListener("change", renderDevices);
  $("device-search").addEventListener("input", renderDevices);
  document.querySelectorAll("[data-count]").forEach((b) => b.addEventListener("click", () => filterByCount(b.dataset.count)));
}

async function loadResidents() {
  const rows = await api("/residents").catch(() => []);
  S.residents = Object.fromEntries(rows.map((r) => [r.id, r.name]));
}
async function loadAlerts() {
  const rows = await api(`/alerts?state=open&limit=${ALERT_LIMIT}`);
  S.panel.alerts = new Map(rows.map((a) => [a.id, a]));
  S.truncated = rows.length >= ALERT_LIMIT;
  S.summary = S.truncated ? await api("/alerts/summary") : null;
}
async function loadBoard() {
  const [board, headers] = await api("/tickets/board", { withHeaders: true });
  // Each column brings its most urgent cards; the header counts the whole column.
  let totals = {};
  try { totals = JSON.parse(headers.get("X-Board-Totals") || "{}"); } catch { totals = {}; }
  S.boardTotals = Object.fromEntries(Object.entries(board).map(([state, cards]) => [state, { total: totals[state]?.[0] ?? cards.length, overdue: totals[state]?.[1] ?? 0, shown: cards.length }]));
  S.tickets = new Map(Object.values(board).flat().map((tk) => [tk.id, tk]));
  S.ticketByAlert = new Map();
  for (const tk of S.tickets.values()) for (const id of tk.alert_ids || []) S.ticketByAlert.set(id, tk.id);
}
async function loadDevices() { S.devices = await api("/devices?limit=5000").catch(() => S.devices); }

function renderAll() {
  applyI18n();
  S.panel.render(); renderCounts(); renderMap();
  if ($("tab-tickets").hidden) S.boardStale = true; else renderBoard();
  if (!$("tab-devices").hidden) renderDevices();
}

/** Draw the named parts soon: the alert list at once when it has been quiet, else at most
 * every THROTTLE_MS (a flood of events costs a few renders, not one per event); the map, the
 * counts and the board a moment later, so the list is on screen first — and the board only
 * while its tab is shown. */
function redraw(...parts) {
  parts.forEach((p) => dirty.add(p));
  if (dirty.has("alerts")) {
    // A critical that pages is drawn within URGENT_MS even in a flood.
    const gap = parts.includes("urgent") ? URGENT_MS : THROTTLE_MS;
    const at = Math.max(0, lastList + gap - performance.now());
    if (listTimer && at < listDue - performance.now()) { clearTimeout(listTimer); listTimer = 0; }
    if (!listTimer) {
      listDue = performance.now() + at;
      listTimer = setTimeout(() => {
        listTimer = 0;
        lastList = performance.now();
        dirty.delete("alerts");
        S.panel.render();
      }, at);
    }
  }
  dirty.delete("urgent");
  if (!restTimer && [...dirty].some((p) => p !== "alerts")) {
    restTimer = setTimeout(() => {
      restTimer = 0;
      const todo = new Set([...dirty].filter((p) => p !== "alerts"));
      todo.forEach((p) => dirty.delete(p));
      if (todo.has("counts")) renderCounts();
      if (todo.has("map")) renderMap();
      if (todo.has("board")) { if ($("tab-tickets").hidden) S.boardStale = true; else renderBoard(); }
      if (todo.has("devices") && !$("tab-devices").hidden) renderDevices();
    }, REST_DELAY_MS);
  }
}

function wireTabs() {
  document.querySelectorAll("nav.tabs button").forEach((b) => b.addEventListener("click", () => showTab(b.dataset.tab)));
}

function showTab(name) {
  document.querySelectorAll("nav.tabs button").forEach((x) => x.setAttribute("aria-selected", String(x.dataset.tab === name)));
  for (const tab of ["alerts", "tickets", "devices", "dead"]) $(`tab-${tab}`).hidden = tab !== name;
  if (name === "tickets" && S.boardStale) { S.boardStale = false; renderBoard(); }
  if (name === "devices") renderDevices();
  if (name === "dead") loadDead();
}

// ---- live events -----------------------------------------------------------------------

function onEvent(ev) {
  if (ev.type === "alert") {
    if (ev.action === "opened") received.set(ev.alert.device_id, Date.now());  // for the bench
    sawServerTime(ev.at);  // countdowns follow the gateway's clock, not this PC's
    const alerts = S.panel.alerts;
    const merged = { ...(alerts.get(ev.alert.id) || {}), ...ev.alert };
    if (merged.state === "cleared") alerts.delete(merged.id);
    else alerts.set(merged.id, merged);
    const critical = ev.pages && SOUNDING.has(ev.action) && merged.severity === "critical";
    if (critical) alarm(merged);
    else if (ev.pages && SOUNDING.has(ev.action) && merged.severity === "major") chime();
    redraw("alerts", "counts", "map", ...(critical ? ["urgent"] : []));
  } else if (ev.type === "ticket") {
    S.tickets.set(ev.ticket.id, { ...(S.tickets.get(ev.ticket.id) || {}), ...ev.ticket });
    redraw("board");
    // Names, notes and SLA fields are computed by the server: re-read the board once the
    // burst (alert → ticket → dispatch) is over.
    clearTimeout(boardReload);
    boardReload = setTimeout(() => loadBoard().then(() => redraw("board")), 1500);
  }
}

// ---- alarms ----------------------------------------------------------------------------

const SIREN_GAP_MS = 2000;
const burst = { list: [], toast: null, timer: 0, lastSiren: 0, trailing: 0 };

/** A critical alert paged: the siren and a toast with "locate". In an avalanche (dozens at
 * once) the siren sounds once, then once more after a quiet gap, and one toast counts them —
 * not a hundred overlapping sirens and toasts. */
function alarm(a) {
  const now = Date.now();
  if (now - burst.lastSiren >= SIREN_GAP_MS) {
    burst.lastSiren = now;
    beep();
  } else if (!burst.trailing) {
    burst.trailing = setTimeout(() => { burst.trailing = 0; burst.lastSiren = Date.now(); beep(); },
      SIREN_GAP_MS - (now - burst.lastSiren));
  }
  burst.list.push(a);
  const who = (x) => `${alertTitle(x)} · ${S.residents[x.resident_id] || x.device_id}`;
  const text = burst.list.length === 1 ? `${t("sev.critical")}: ${who(a)}`
    : t("alarm.many", { n: burst.list.length, first: who(burst.list[0]) });
  if (burst.toast?.isConnected) burst.toast.firstChild.textContent = text;
  else burst.toast = toast(text, "alarm", { label: t("act.locate"), run: () => locate(burst.list[0] || a) });
  clearTimeout(burst.timer);
  burst.timer = setTimeout(() => { burst.list = []; burst.toast = null; }, 1500);
}

// ---- alerts ----------------------------------------------------------------------------

function ticketFor(a) {
  const id = S.ticketByAlert?.get(a.id) ?? a.ticket_id;
  if (id === undefined || id === null) return null;
  // A ticket not among the board's cards (a long column) is still linked from its alert.
  return S.tickets.get(id) || (a.ticket_code ? { id, code: a.ticket_code } : null);
}

function renderCounts() {
  const c = S.summary && S.truncated
    ? { ...S.summary, incidents: "—" } : S.panel.counts();
  $("count-critical").textContent = c.critical_active;
  $("count-active").textContent = c.active;
  $("count-acknowledged").textContent = c.acknowledged;
  $("count-muted").textContent = c.muted;
  $("count-incidents").textContent = c.incidents;
  $("count-online").textContent = `${S.devices.filter((d) => d.twin?.online).length}/${S.devices.length}`;
  $("alerts-truncated").hidden = !S.truncated;
  $("alerts-truncated").textContent = t("alerts.truncated", { n: ALERT_LIMIT });
}

function filterByCount(name) {
  showTab("alerts");
  const patch = { critical: { state: "active", severity: "critical" }, active: { state: "active", severity: "" },
    acknowledged: { state: "acknowledged", severity: "" }, muted: { state: "muted", severity: "" },
    incidents: { state: "", severity: "" } }[name];
  if (patch) S.panel.setFilter(patch);
}

function updateAlert(a, updated) {
  S.panel.alerts.set(a.id, { ...a, ...updated });
  redraw("alerts", "counts", "map");
}

async function ack(a) {
  const updated = await attempt(() => api(`/alerts/${a.id}/ack`, { method: "POST", body: { note: "" } }));
  if (updated) { sawServerTime(updated.acked_at); updateAlert(a, updated); }
}

async function clearAlert(a) {
  const v = await askForm(`${t("act.clear")} · ${alertTitle(a)}`, [{ name: "note", label: t("f.note"), type: "textarea" }]);
  if (!v) return;
  const updated = await attempt(() => api(`/alerts/${a.id}/clear`, { method: "POST", body: { note: v.note } }));
  if (updated) { S.panel.alerts.delete(a.id); redraw("alerts", "counts", "map"); }
}

async function silence(a) {
  // A rule that pages on urgent events: only this rule on this device, at most an hour
  // (the server refuses anything broader: a silence never mutes a call for help wholesale).
  const most = a.silence_max_s || Infinity;
  const scopes = [["rule", t("silence.rule")]];
  if (!a.silence_max_s) scopes.push(["device", t("silence.device")]);
  const v = await askForm(`${t("act.silence")} · ${a.device_id}`, [
    { name: "scope", label: t("silence.scope"), type: "select", value: "rule", options: scopes },
    { name: "duration", label: t("f.duration"), type: "select", value: "3600",
      options: ["1800", "3600", "14400", "86400"].filter((s) => Number(s) <= most)
        .map((s) => [s, t(`dur.${s}`)]) },
    { name: "reason", label: t("f.reason"), required: true },
  ]);
  if (!v) return;
  const body = { device_id: a.device_id, duration_s: Number(v.duration), reason: v.reason };
  if (v.scope === "rule") body.rule_id = a.rule_id;
  if (await attempt(() => api("/silences", { method: "POST", body }))) {
    toast(`${t("act.silence")} ✓`);
    await loadAlerts();
    redraw("alerts", "counts", "map");
  }
}

function locate(a) {
  showTab("alerts");
  S.panel.focus = a.id;
  redraw("alerts", "map");
  requestAnimationFrame(() => document.querySelector(`li.alert[data-alert-id="${a.id}"]`)?.scrollIntoView({ block: "center" }));
}

// ---- map -------------------------------------------------------------------------------

function devicePosition(d) {
  if (d.twin?.lat != null && d.twin?.lon != null) return [d.twin.lat, d.twin.lon];
  return S.map.fixedAt(d.id) || (d.building ? S.map.buildingCentre(d.building) : null);
}

function renderMap() {
  const map = S.map;
  if (!map) return;
  map.clear("fixed"); map.clear("marks"); map.clear("alerts");
  const byId = Object.fromEntries(S.devices.map((d) => [d.id, d]));
  const wearers = [];
  for (const d of S.devices) {
    const at = devicePosition(d);
    if (!at) continue;
    const [x, y] = map.project(at);
    const off = d.twin && !d.twin.online ? " offline" : "";
    if (d.kind === "wristband" && d.twin?.lat != null) {
      wearers.push(at);
      map.layers.marks.append(el("circle", { class: `wearer${off}`, cx: x, cy: y, r: 3, dataset: { device: d.id } },
        el("title", {}, `${S.residents[d.resident_id] || d.resident_id || ""} ${d.id}`)));
      map.layers.marks.append(el("text", { class: "mark-label", x, y: y - 5 }, S.residents[d.resident_id] || d.id));
    } else if (d.kind !== "wristband") {
      map.layers.fixed.append(el("circle", { class: `fixed${off}`, cx: x, cy: y, r: 2, dataset: { device: d.id } }, el("title", {}, d.id)));
    }
  }
  const alerting = new Set([...S.panel.alerts.values()].map((a) => a.building).filter(Boolean));
  document.querySelectorAll("#map .building").forEach((n) => n.classList.toggle("alerting", alerting.has(n.dataset.building)));
  // One ring per device (its worst open alert); only the most recent ones needing an ack
  // pulse: hundreds of animated rings would keep a control-room PC repainting all shift.
  const worst = new Map();
  for (const a of S.panel.alerts.values()) {
    const held = worst.get(a.device_id);
    if (!held || needsAck(a) > needsAck(held) || (needsAck(a) === needsAck(held) && RANK[a.severity] > RANK[held.severity])
        || S.panel.focus === a.id) worst.set(a.device_id, a);
  }
  const pulsing = new Set([...worst.values()].filter(needsAck).sort((x, y) => pagedAt(y) - pagedAt(x)).slice(0, PULSING).map((a) => a.id));
  for (const a of worst.values()) {
    const d = byId[a.device_id];
    const at = d ? devicePosition(d) : (a.building ? map.buildingCentre(a.building) : null);
    if (!at) continue;
    const [x, y] = map.project(at);
    map.layers.alerts.append(el("circle", { class: `alert-ring ${a.state}${a.muted ? " muted" : ""}${pulsing.has(a.id) ? " pulse" : ""}`, cx: x, cy: y, r: S.panel.focus === a.id ? 14 : 8,
      dataset: { alertId: a.id }, onclick: () => locate(a) }, el("title", {}, `${alertTitle(a)} · ${a.device_id}`)));
  }
  map.fit(wearers);
}

// ---- tickets ---------------------------------------------------------------------------

function renderBoard() {
  const onChange = (updated) => { S.tickets.set(updated.id, { ...S.tickets.get(updated.id), ...updated }); redraw("board"); };
  const order = (a, b) => (Boolean(b.overdue) - Boolean(a.overdue)) || ((a.sla_due || Infinity) - (b.sla_due || Infinity)) || (b.updated_at - a.updated_at);
  const columns = BOARD_STATES.map((state) => {
    let cards = [...S.tickets.values()].filter((tk) => tk.state === state);
    cards.sort(state === "closed" ? (a, b) => b.updated_at - a.updated_at : order);
    if (state === "closed") cards = cards.slice(0, 30);  // the board is for work in hand
    // A column the server cut to its most urgent cards is counted by the server.
    const whole = S.boardTotals?.[state];
    const cut = whole && whole.total > whole.shown;
    const overdue = cut ? whole.overdue : cards.filter((tk) => tk.overdue).length;
    const count = cut ? whole.total : cards.length;
    return el("div", { class: "column", dataset: { state } },
      el("h3", {}, el("span", {}, t(`ts.${state}`)),
        el("span", {}, overdue ? el("b", { class: "over", title: t("sla.over", { d: "" }) }, `${overdue}/`) : null, count)),
      el("div", { class: "cards" }, cards.map((tk) => boardCard(tk, S.residents, onChange))));
  });
  fill($("board"), ...columns);
  refreshSla($("board"));
}

// ---- devices and dead letters ----------------------------------------------------------

function renderDevices() {
  const select = $("device-kind");
  const kinds = [...new Set(S.devices.map((d) => d.kind))].sort();
  const chosen = select.value;
  select.replaceChildren(el("option", { value: "" }, t("kind.all")), ...kinds.map((k) => el("option", { value: k, selected: k === chosen }, t(`kind.${k}`))));
  const q = $("device-search").value.trim().toLowerCase();
  const rows = S.devices.filter((d) => (!select.value || d.kind === select.value)
    && (!q || `${d.id} ${S.residents[d.resident_id] || ""} ${d.resident_id || ""}`.toLowerCase().includes(q)));
  const head = el("tr", {}, ["dev.id", "dev.kind", "dev.place", "dev.resident", "dev.online", "dev.worn", "dev.battery", "dev.seen"].map((k) => el("th", {}, t(k))));
  const body = rows.map((d) => {
    const tw = d.twin || {};
    const pct = tw.battery_pct;
    const worn = tw.last_telemetry?.worn;
    return el("tr", { class: "clickable", dataset: { device: d.id }, tabindex: 0, title: t("dev.open"),
      onclick: () => location.assign(`/device?id=${encodeURIComponent(d.id)}`),
      onkeydown: (ev) => { if (ev.key === "Enter") location.assign(`/device?id=${encodeURIComponent(d.id)}`); } },
    el("td", {}, el("a", { href: `/device?id=${encodeURIComponent(d.id)}` }, d.id)), el("td", {}, t(`kind.${d.kind}`)),
    el("td", {}, [d.building && `${d.building}-${d.unit || ""}`, d.grid].filter(Boolean).join(" · ")),
    el("td", {}, S.residents[d.resident_id] || d.resident_id || ""),
    el("td", {}, el("span", { class: `dot${tw.online ? " on" : ""}` }), t(tw.online ? "online.yes" : "online.no")),
    el("td", {}, worn === undefined ? "" : t(worn ? "dev.worn.yes" : "dev.worn.no")),
    el("td", {}, pct == null ? "—" : [el("span", { class: `battery${pct < 20 ? " low" : ""}` }, el("i", { style: `width:${Math.round(pct)}%` })), `${Math.round(pct)}%`]),
    el("td", {}, fmtTime(tw.last_seen, true)));
  });
  fill($("devices"), el("thead", {}, head), el("tbody", {}, body));
  $("device-count").textContent = t("dev.count", { n: S.devices.length, on: S.devices.filter((d) => d.twin?.online).length });
}

async function loadDead() {
  const [summary, rows] = await Promise.all([api("/dead-letters/summary"), api("/dead-letters?limit=200")]);
  fill($("dead-summary"), ...Object.entries(summary).map(([reason, n]) => el("span", { class: "chip" }, `${reason}: ${n}`)));
  const head = el("tr", {}, ["dl.time", "dl.reason", "dev.id", "dl.topic", "dl.detail", "dl.payload"].map((k) => el("th", {}, t(k))));
  const body = rows.map((r) => el("tr", {}, el("td", {}, fmtTime(r.received_at, true)), el("td", {}, r.reason),
    el("td", {}, r.device_id ? el("a", { href: `/device?id=${encodeURIComponent(r.device_id)}` }, r.device_id) : "—"),
    el("td", {}, el("code", {}, r.topic)), el("td", {}, r.detail),
    el("td", {}, el("code", {}, r.payload_preview.slice(0, 160)))));
  fill($("dead"), el("thead", {}, head), el("tbody", {}, body.length ? body : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("dl.none")))]));
}

main();
