// Operator console: live alerts, the site map, the ticket board, devices, dead letters.
import { api, askForm, attempt, beep, connectLive, el, fmtTime, session, setTimezone, toast } from "./common.js";
import { applyI18n, getLang, t } from "./i18n.js";
import { SiteMap } from "./sitemap.js";

const BOARD_STATES = ["collected", "dispatched", "handling", "feedback", "escalated", "transferred", "closed"];
const DEPARTMENTS = ["police", "fire", "medical", "property", "city_management"];
const SOUNDING = new Set(["opened", "escalated", "reescalated"]);
const S = { alerts: new Map(), tickets: new Map(), devices: [], rules: {}, residents: {}, sitemap: null, map: null, focus: null };

const $ = (id) => document.getElementById(id);

async function main() {
  const me = await session(["admin", "operator"], { family: "/family", grid_worker: "/grid" });
  S.me = me;
  wireTabs();
  S.sitemap = await api("/sitemap").catch(() => null);
  setTimezone(S.sitemap?.site?.timezone);
  S.map = new SiteMap($("map"), S.sitemap);
  if (!S.sitemap) $("map-note").textContent = t("map.nomap");
  await Promise.all([loadRules(), loadResidents(), loadAlerts(), loadBoard(), loadDevices()]);
  renderAll();
  connectLive(onEvent, () => Promise.all([loadAlerts(), loadBoard()]).then(renderAll));
  // The stream carries alerts and tickets; device twins (positions, battery) are polled.
  setInterval(() => loadDevices().then(() => { renderMap(); renderCounts(); if (!$("tab-devices").hidden) renderDevices(); }), 15000);
  document.addEventListener("scgw:lang", renderAll);
  $("board-refresh").addEventListener("click", () => loadBoard().then(renderBoard));
  $("dead-refresh").addEventListener("click", loadDead);
  $("device-kind").addEventListener("change", renderDevices);
  $("device-search").addEventListener("input", renderDevices);
}

async function loadRules() {
  const rules = await api("/rules").catch(() => []);
  S.rules = Object.fromEntries(rules.map((r) => [r.id, r]));
}
async function loadResidents() {
  const rows = await api("/residents").catch(() => []);
  S.residents = Object.fromEntries(rows.map((r) => [r.id, r.name]));
}
async function loadAlerts() {
  const rows = await api("/alerts?state=open&limit=500");
  S.alerts = new Map(rows.map((a) => [a.id, a]));
}
async function loadBoard() {
  const board = await api("/tickets/board");
  S.tickets = new Map(Object.values(board).flat().map((tk) => [tk.id, tk]));
}
async function loadDevices() { S.devices = await api("/devices?limit=5000").catch(() => S.devices); }

function renderAll() {
  applyI18n();
  renderAlerts(); renderCounts(); renderMap(); renderBoard();
  if (!$("tab-devices").hidden) renderDevices();
}

function wireTabs() {
  document.querySelectorAll("nav.tabs button").forEach((b) => b.addEventListener("click", () => {
    document.querySelectorAll("nav.tabs button").forEach((x) => x.setAttribute("aria-selected", String(x === b)));
    for (const name of ["alerts", "tickets", "devices", "dead"]) $(`tab-${name}`).hidden = name !== b.dataset.tab;
    if (b.dataset.tab === "devices") renderDevices();
    if (b.dataset.tab === "dead") loadDead();
  }));
}

// ---- live events -----------------------------------------------------------------------

function onEvent(ev) {
  if (ev.type === "alert") {
    const merged = { ...(S.alerts.get(ev.alert.id) || {}), ...ev.alert };
    if (merged.state === "cleared") S.alerts.delete(merged.id);
    else S.alerts.set(merged.id, merged);
    if (merged.severity === "critical" && ev.pages && SOUNDING.has(ev.action)) {
      beep();
      toast(`${t("sev.critical")}: ${alertTitle(merged)} · ${merged.device_id}`, "alarm");
    }
    renderAlerts(); renderCounts(); renderMap();
  } else if (ev.type === "ticket") {
    S.tickets.set(ev.ticket.id, { ...(S.tickets.get(ev.ticket.id) || {}), ...ev.ticket });
    renderBoard();
  }
}

// ---- alerts ----------------------------------------------------------------------------

function alertTitle(a) {
  const rule = S.rules[a.rule_id];
  if (rule) return getLang() === "zh" ? rule.name_zh : rule.name_en;
  return t(`cat.${a.category}`);
}

function place(a) {
  const parts = [a.device_id];
  if (a.building) parts.push(getLang() === "zh" ? `${a.building}号楼` : `Bldg ${a.building}`);
  if (a.grid) parts.push(a.grid);
  if (a.resident_id) parts.push(S.residents[a.resident_id] || a.resident_id);
  return parts.join(" · ");
}

function sortedAlerts() {
  const rank = { critical: 3, major: 2, minor: 1, info: 0 };
  return [...S.alerts.values()].sort((x, y) => (x.state === "active" ? 0 : 1) - (y.state === "active" ? 0 : 1)
    || rank[y.severity] - rank[x.severity] || y.last_seen - x.last_seen);
}

function renderAlerts() {
  const list = $("alerts");
  const items = sortedAlerts().map((a) => el("li", {
    class: `alert sev-${a.severity} state-${a.state}${S.focus === a.id ? " focus" : ""}`,
    dataset: { alertId: a.id, device: a.device_id, state: a.state },
  },
  el("div", { class: "row1" },
    el("span", { class: `sev ${a.severity}` }, t(`sev.${a.severity}`)),
    el("b", { class: "title" }, alertTitle(a)),
    el("span", { class: `state ${a.state}` }, t(`state.${a.state}`)),
    el("span", { class: "meta" }, fmtTime(a.last_seen, true))),
  el("div", { class: "meta" }, place(a), a.count > 1 ? ` ×${a.count}` : "", a.muted ? " 🔕" : ""),
  el("div", { class: "actions" },
    a.state === "active" ? el("button", { class: "primary", dataset: { act: "ack" }, onclick: () => ack(a) }, t("act.ack")) : null,
    el("button", { dataset: { act: "clear" }, onclick: () => clearAlert(a) }, t("act.clear")),
    el("button", { dataset: { act: "silence" }, onclick: () => silence(a) }, t("act.silence")),
    el("button", { dataset: { act: "locate" }, onclick: () => { S.focus = a.id; renderAlerts(); renderMap(); } }, t("act.locate")))));
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, t("alerts.none"))]));
}

function renderCounts() {
  const open = [...S.alerts.values()];
  $("count-active").textContent = open.filter((a) => a.state === "active").length;
  $("count-acknowledged").textContent = open.filter((a) => a.state === "acknowledged").length;
  $("count-critical").textContent = open.filter((a) => a.severity === "critical").length;
  $("count-online").textContent = `${S.devices.filter((d) => d.twin?.online).length}/${S.devices.length}`;
}

async function ack(a) {
  const updated = await attempt(() => api(`/alerts/${a.id}/ack`, { method: "POST", body: { note: "" } }));
  if (updated) { S.alerts.set(a.id, { ...a, ...updated }); renderAlerts(); renderCounts(); renderMap(); }
}

async function clearAlert(a) {
  const v = await askForm(`${t("act.clear")} · ${alertTitle(a)}`, [{ name: "note", label: t("f.note"), type: "textarea" }]);
  if (!v) return;
  const updated = await attempt(() => api(`/alerts/${a.id}/clear`, { method: "POST", body: { note: v.note } }));
  if (updated) { S.alerts.delete(a.id); renderAlerts(); renderCounts(); renderMap(); }
}

async function silence(a) {
  const v = await askForm(`${t("act.silence")} · ${a.device_id}`, [
    { name: "scope", label: t("silence.scope"), type: "select", value: "rule",
      options: [["rule", t("silence.rule")], ["device", t("silence.device")]] },
    { name: "duration", label: t("f.duration"), type: "select", value: "3600",
      options: ["1800", "3600", "14400", "86400"].map((s) => [s, t(`dur.${s}`)]) },
    { name: "reason", label: t("f.reason"), required: true },
  ]);
  if (!v) return;
  const body = { device_id: a.device_id, duration_s: Number(v.duration), reason: v.reason };
  if (v.scope === "rule") body.rule_id = a.rule_id;
  if (await attempt(() => api("/silences", { method: "POST", body }))) {
    toast(`${t("act.silence")} ✓`);
    await loadAlerts(); renderAlerts();
  }
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
  document.querySelectorAll("#map .alerting").forEach((n) => n.classList.remove("alerting"));
  for (const a of S.alerts.values()) {
    const d = byId[a.device_id];
    const at = d ? devicePosition(d) : (a.building ? map.buildingCentre(a.building) : null);
    if (a.building) document.querySelector(`#map .building[data-building="${CSS.escape(a.building)}"]`)?.classList.add("alerting");
    if (!at) continue;
    const [x, y] = map.project(at);
    map.layers.alerts.append(el("circle", { class: `alert-ring ${a.state}`, cx: x, cy: y, r: S.focus === a.id ? 14 : 8,
      dataset: { alertId: a.id }, onclick: () => { S.focus = a.id; renderAlerts(); } }, el("title", {}, `${alertTitle(a)} · ${a.device_id}`)));
  }
  map.fit(wearers);
}

// ---- tickets ---------------------------------------------------------------------------

function workersFor(grid) {
  const grids = S.sitemap?.grids || [];
  const mine = grids.filter((g) => g.id === grid).flatMap((g) => g.workers);
  const rest = grids.filter((g) => g.id !== grid).flatMap((g) => g.workers);
  return [...mine, ...rest].map((w) => [w.username, w.name]);
}

function ticketActions(tk) {
  const s = tk.state;
  const button = (act, fn, cls) => el("button", { class: cls, dataset: { act }, onclick: () => fn(tk) }, t(`act.${act}`));
  return [
    ["collected", "dispatched"].includes(s) ? button("dispatch", dispatch, "primary") : null,
    ["collected", "dispatched", "handling"].includes(s) ? button("escalate", escalate) : null,
    ["collected", "dispatched", "handling", "escalated"].includes(s) ? button("transfer", transfer) : null,
    ["feedback", "transferred"].includes(s) ? button("close", closeTicket, "primary") : null,
  ];
}

function renderBoard() {
  const columns = BOARD_STATES.map((state) => {
    let cards = [...S.tickets.values()].filter((tk) => tk.state === state).sort((a, b) => b.updated_at - a.updated_at);
    if (state === "closed") cards = cards.slice(0, 30);  // the board is for work in hand
    return el("div", { class: "column", dataset: { state } },
      el("h3", {}, el("span", {}, t(`ts.${state}`)), el("span", {}, cards.length)),
      el("div", { class: "cards" }, cards.map((tk) => el("div", { class: `card prio-${tk.priority}`, dataset: { ticketId: tk.id, state: tk.state } },
        el("div", { class: "code" }, `${tk.code} · ${t(`prio.${tk.priority}`)}`),
        el("div", {}, tk.title || t(`cat.${tk.category}`)),
        el("div", { class: "meta" }, [t(`cat.${tk.category}`), tk.grid || "—", tk.device_id,
          tk.resident_id && (S.residents[tk.resident_id] || tk.resident_id)].filter(Boolean).join(" · ")),
        el("div", { class: "meta" }, `${t("ticket.assignee")}: `,
          el("span", { class: "assignee" }, tk.assignee || t("ticket.none"))),
        el("div", { class: "actions" }, ticketActions(tk))))));
  });
  $("board").replaceChildren(...columns);
}

async function transition(tk, body) {
  const updated = await attempt(() => api(`/tickets/${tk.id}/transitions`, { method: "POST", body }));
  if (updated) { S.tickets.set(updated.id, updated); renderBoard(); toast(`${updated.code} → ${t(`ts.${updated.state}`)}`); }
}

async function dispatch(tk) {
  const workers = workersFor(tk.grid);
  const v = await askForm(`${t("act.dispatch")} · ${tk.code}`, [
    { name: "assignee", label: t("f.assignee"), required: true, value: tk.assignee || workers[0]?.[0] || "", list: workers },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "dispatch", assignee: v.assignee.trim(), note: v.note });
}

async function escalate(tk) {
  const v = await askForm(`${t("act.escalate")} · ${tk.code}`, [
    { name: "department", label: t("f.department"), type: "select", value: "medical", options: DEPARTMENTS.map((d) => [d, t(`dept.${d}`)]) },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "escalate", department: v.department, note: v.note });
}

async function transfer(tk) {
  const v = await askForm(`${t("act.transfer")} · ${tk.code}`, [{ name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "transfer", note: v.note });
}

async function closeTicket(tk) {
  const fields = [{ name: "note", label: t("f.note"), type: "textarea" }];
  if (tk.source === "resident") fields.unshift({ name: "rating", label: t("f.rating"), type: "number", min: 1, max: 5, value: "5", required: true });
  const v = await askForm(`${t("act.close")} · ${tk.code}`, fields);
  if (v) await transition(tk, { action: "close", note: v.note, ...(v.rating ? { rating: Number(v.rating) } : {}) });
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
  const head = el("tr", {}, ["dev.id", "dev.kind", "dev.place", "dev.resident", "dev.online", "dev.battery", "dev.seen"].map((k) => el("th", {}, t(k))));
  const body = rows.map((d) => {
    const tw = d.twin || {};
    const pct = tw.battery_pct;
    return el("tr", { dataset: { device: d.id } },
      el("td", {}, d.id), el("td", {}, t(`kind.${d.kind}`)),
      el("td", {}, [d.building && `${d.building}-${d.unit || ""}`, d.grid].filter(Boolean).join(" · ")),
      el("td", {}, S.residents[d.resident_id] || d.resident_id || ""),
      el("td", {}, el("span", { class: `dot${tw.online ? " on" : ""}` }), t(tw.online ? "online.yes" : "online.no")),
      el("td", {}, pct == null ? "—" : [el("span", { class: `battery${pct < 20 ? " low" : ""}` }, el("i", { style: `width:${Math.round(pct)}%` })), `${Math.round(pct)}%`]),
      el("td", {}, fmtTime(tw.last_seen, true)));
  });
  $("devices").replaceChildren(el("thead", {}, head), el("tbody", {}, body));
  $("device-count").textContent = t("dev.count", { n: S.devices.length, on: S.devices.filter((d) => d.twin?.online).length });
}

async function loadDead() {
  const [summary, rows] = await Promise.all([api("/dead-letters/summary"), api("/dead-letters?limit=200")]);
  $("dead-summary").replaceChildren(...Object.entries(summary).map(([reason, n]) => el("span", { class: "chip" }, `${reason}: ${n}`)));
  const head = el("tr", {}, ["dl.time", "dl.reason", "dev.id", "dl.topic", "dl.detail", "dl.payload"].map((k) => el("th", {}, t(k))));
  const body = rows.map((r) => el("tr", {}, el("td", {}, fmtTime(r.received_at, true)), el("td", {}, r.reason),
    el("td", {}, r.device_id || "—"), el("td", {}, el("code", {}, r.topic)), el("td", {}, r.detail),
    el("td", {}, el("code", {}, r.payload_preview.slice(0, 160)))));
  $("dead").replaceChildren(el("thead", {}, head), el("tbody", {}, body.length ? body : [el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("dl.none")))]));
}

main();
