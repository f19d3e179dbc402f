// Family page (phone first): my elders, where each is now, today's trail, vitals, SOS/fall
// history, and a safe-zone editor. Another family's elder is simply "not found".
import { ApiError, api, askForm, attempt, beep, connectLive, el, fmtTime, midnight, session, setTimezone, fill } from "./common.js";
import { applyI18n, learnNames, pick, t } from "./i18n.js";
import { SiteMap } from "./sitemap.js";

const S = { elders: [], current: null, data: {}, zones: [], draft: null, map: null, now: 0, banner: null };
const $ = (id) => document.getElementById(id);

async function main() {
  await session(["family"], { admin: "/", operator: "/", grid_worker: "/grid" });
  const [config, sitemap, elders] = await Promise.all([
    api("/console/config"), api("/sitemap").catch(() => null), api("/family/elders")]);
  S.now = config.now;
  learnNames(config.names);
  setTimezone(sitemap?.site?.timezone);
  S.map = new SiteMap($("map"), sitemap);
  S.map.svg.addEventListener("click", onMapClick);
  S.elders = elders;
  renderElders();
  let wanted = new URLSearchParams(location.search).get("elder") || elders[0]?.id || null;
  // The elder's page loads once the live stream is subscribed (and again on a reconnect).
  await connectLive(onEvent, () => {
    const id = wanted ?? S.current;
    wanted = null;
    return open(id);
  });
  setInterval(() => S.current && !S.draft && open(S.current, true), 30000);
  document.addEventListener("scgw:lang", () => { applyI18n(); renderElders(); render(); });
  $("zone-new").addEventListener("click", startDraft);
  $("zone-cancel").addEventListener("click", endDraft);
  $("zone-finish").addEventListener("click", saveDraft);
}

function renderElders() {
  const chips = S.elders.map((e) => el("button", { class: "chip", "aria-pressed": String(e.id === S.current),
    dataset: { elder: e.id }, onclick: () => open(e.id) }, e.name));
  fill($("elders"), ...(chips.length ? chips : [el("span", { class: "note" }, t("family.noelders"))]));
}

/** Load one elder's page; the server answers 404 (and logs it) for anyone not linked. */
async function open(id, quiet = false) {
  if (!id) return;
  const known = S.elders.find((e) => e.id === id);
  try {
    const config = await api("/console/config");
    S.now = config.now;
    const start = midnight(S.now);
    const [location, trail, vitals, alarms, zones] = await Promise.all([
      api(`/family/elders/${encodeURIComponent(id)}/location`).catch((err) => { if (err.status === 404 && known) return null; throw err; }),
      api(`/family/elders/${encodeURIComponent(id)}/trail?start=${start}`),
      api(`/family/elders/${encodeURIComponent(id)}/vitals`),
      api(`/family/elders/${encodeURIComponent(id)}/alarms?start=${S.now - 30 * 86400}`),
      api(`/geofences?resident_id=${encodeURIComponent(id)}`)]);
    S.current = id;
    S.data = { elder: known, location, trail, vitals, alarms };
    S.zones = zones;
    // An alarm still being handled shows its banner on opening the page too, not only when it
    // arrives live: a family that opens the app after the SOS sees what the community is doing.
    if (!S.banner) {
      const live = alarms.filter(unfinished).sort((a, b) => (b.received_at ?? b.ts) - (a.received_at ?? a.ts))[0];
      if (live) S.banner = { resident_id: id, category: live.category || live.type, at: live.received_at ?? live.ts };
    }
    $("elder-error").hidden = true;
    $("elder-view").hidden = false;
    if (!quiet) history.replaceState(null, "", `?elder=${encodeURIComponent(id)}`);
    renderElders();
    render();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    S.current = null;
    $("elder-view").hidden = true;
    $("elder-error").hidden = false;
    $("elder-error").textContent = t("family.notfound");
    renderElders();
  }
}

/** The community has not finished with this alarm (its ticket is open, or its alert is). */
function unfinished(a) {
  if (a.handling) return !["closed", "rejected", "duplicate"].includes(a.handling.state);
  return a.alert_state === "active" || a.alert_state === "acknowledged";
}

function render() {
  if (!S.current) return;
  const { elder, location, trail, vitals, alarms } = S.data;
  $("elder-name").textContent = elder?.name || S.current;
  fill($("fix"), ...(location ? [
    el("span", {}, `${t("family.fix")}: `, el("b", { id: "fix-time" }, fmtTime(location.fix_ts, true))),
    location.accuracy_m != null ? el("span", {}, t("family.accuracy", { m: Math.round(location.accuracy_m) })) : null,
    location.source ? el("span", {}, location.source) : null,
  ] : [el("span", {}, t("family.nofix"))]));
  $("trail-note").textContent = t("family.trail", { n: trail.length });
  renderMap();
  renderVitals(vitals);
  fill($("alarms"), ...(alarms.length ? alarms.map(alarmItem) : [el("li", { class: "note" }, t("family.noalarms"))]));
  renderBanner();
  renderZones();
}

function renderMap() {
  const map = S.map;
  const { location, trail } = S.data;
  for (const layer of ["fixed", "trail", "marks", "draft"]) map.clear(layer);
  for (const z of S.zones.filter((z) => z.enabled)) {
    map.layers.fixed.append(el("polygon", { class: "zone family-zone", points: map.points(z.polygon), dataset: { zone: z.id } }, el("title", {}, z.name)));
  }
  const extra = trail.map((p) => [p.lat, p.lon]);
  if (trail.length > 1) {
    map.layers.trail.append(el("polyline", { class: "trail", points: map.points(extra) }));
  }
  for (const p of trail) {
    const [x, y] = map.project([p.lat, p.lon]);
    map.layers.trail.append(el("circle", { class: "trail-dot", cx: x, cy: y, r: 0.8 }, el("title", {}, fmtTime(p.ts))));
  }
  if (location) {
    const [x, y] = map.project([location.lat, location.lon]);
    map.layers.marks.append(el("circle", { class: "accuracy", cx: x, cy: y, r: Math.max(location.accuracy_m || 0, 2) }));
    map.layers.marks.append(el("circle", { class: "wearer", id: "elder-dot", cx: x, cy: y, r: 3 },
      el("title", {}, `${S.data.elder?.name || ""} ${fmtTime(location.fix_ts, true)}`)));
    map.layers.marks.append(el("text", { class: "mark-label", x, y: y - 6 }, `${S.data.elder?.name || ""} ${fmtTime(location.fix_ts)}`));
    extra.push([location.lat, location.lon]);
  }
  drawDraft();
  map.fit(extra);
}

/** What the community did about an alarm, in one line ("已派网格员王芳前往"). */
function statusText(h) {
  if (!h) return t("family.status.none");
  const who = h.assignee_name || "";
  const result = h.result || "";
  const key = { collected: "new", dispatched: "dispatched", handling: "handling", feedback: "feedback", closed: "closed",
    escalated: "escalated", transferred: "transferred", rejected: "rejected", duplicate: "rejected" }[h.state] || "none";
  return t(`family.status.${key}`, { who, result });
}

/** What the alarm was, in the family's words: its alert's category (a band's SOS, a smoke
 * alarm at home), else the band's own word. */
function alarmName(a) {
  return a.category ? t(`cat.${a.category}`) : t(`family.${a.type}`);
}

function alarmItem(a) {
  const h = a.handling;
  const place = pick(a.place_zh, a.place_en);
  const steps = (h?.steps || []).map((s) => `${fmtTime(s.at)} ${t(`step.${s.action}`, { who: s.assignee || s.who || h.assignee_name || "" })}`);
  return el("li", { dataset: { type: a.type, state: h?.state || "none" } },
    el("span", { class: `sev ${a.type === "sos" ? "critical" : "major"}` }, alarmName(a)),
    a.repeats ? el("span", { class: "badge" }, t("family.repeats", { n: a.repeats + 1 })) : null,
    el("span", { class: "when" }, fmtTime(a.ts, true)),
    place ? el("span", { class: "where" }, t("family.where", { place }).trim()) : null,
    a.room ? el("span", { class: "where" }, t("family.room", { room: a.room })) : null,
    a.worn === false ? el("span", { class: "badge warn" }, t("family.notworn")) : null,
    el("b", { class: "status" }, statusText(h)),
    steps.length ? el("div", { class: "steps" }, `${t("family.steps")}：${steps.join(" → ")}`) : null);
}

/** The red banner of a new alarm: when, who, where, what, and what the community is doing. */
function renderBanner() {
  const b = S.banner;
  const banner = $("alarm-banner");
  if (!b) { banner.hidden = true; return; }
  const elder = S.elders.find((e) => e.id === b.resident_id);
  const match = b.resident_id === S.current
    ? (S.data.alarms || []).find((a) => (a.category || a.type) === b.category && Math.abs((a.received_at ?? a.ts) - b.at) < 120) : null;
  const place = match ? pick(match.place_zh, match.place_en) : "";
  banner.replaceChildren(
    el("span", {}, t("family.banner", { time: fmtTime(b.at, true), name: elder?.name || b.resident_id || "",
      where: place ? t("family.where", { place }) : "", what: t(`cat.${b.category}`) })),
    el("span", { class: "status", id: "banner-status" }, t("family.status", { status: statusText(match?.handling) })));
  banner.dataset.state = match?.handling?.state || "none";
  banner.hidden = false;
}

function renderVitals(v) {
  const fmt = (x, digits = 0) => (x == null ? "—" : Number(x).toFixed(digits));
  const cells = [
    ["family.hr", ["heart_rate_bpm"], `${fmt(v.heart_rate_bpm)} ${t("unit.bpm")}`, "hr"],
    ["family.bp", ["systolic_mmhg", "diastolic_mmhg"], `${fmt(v.systolic_mmhg)}/${fmt(v.diastolic_mmhg)} ${t("unit.mmhg")}`, "bp"],
    ["family.glucose", ["glucose_mmol_l"], `${fmt(v.glucose_mmol_l, 1)} ${t("unit.mmol")}`, "glucose"],
    ["family.spo2", ["spo2_pct"], `${fmt(v.spo2_pct)} %`, "spo2"],
    ["family.temp", ["body_temp_c"], `${fmt(v.body_temp_c, 1)} ℃`, "temp"],
  ];
  const missing = v.missing || {};
  const items = cells.map(([k, keys, value, id]) => {
    const why = missing[keys[0]];
    const at = v.taken_at?.[keys[0]];
    if (!why) return el("div", { class: "vital", dataset: { vital: id } }, el("span", {}, t(k)), el("b", {}, value));
    // Say why there is no current value; show the last one, with its time, if there is one.
    const reason = why === "not_worn" ? t("vital.not_worn", { t: fmtTime(v.worn_since, true) })
      : why === "no_data" ? t("vital.no_data") : t("vital.no_data_since", { t: fmtTime(at, true) });
    return el("div", { class: "vital missing", dataset: { vital: id, missing: why } }, el("span", {}, t(k)), el("b", {}, "—"),
      el("span", { class: "why" }, reason), at ? el("span", { class: "last" }, t("vital.last", { v: value, t: fmtTime(at, true) })) : null);
  });
  items.push(el("div", { class: "vital", dataset: { vital: "battery" } }, el("span", {}, t("family.battery")), el("b", {}, `${fmt(v.battery_pct)} %`)));
  fill($("vitals"), ...items);
  $("measured").textContent = v.measured_at ? `${t("family.measured")} ${fmtTime(v.measured_at, true)}` : "";
}

// ---- safe zones ------------------------------------------------------------------------

function renderZones() {
  const items = S.zones.map((z) => el("li", { dataset: { zone: z.id } },
    el("b", {}, z.name),
    el("label", {}, el("input", { type: "checkbox", checked: z.enabled, onchange: (ev) => toggleZone(z, ev.target.checked) }), t("family.zone.enabled")),
    el("button", { class: "danger", onclick: () => deleteZone(z) }, t("act.delete"))));
  fill($("zones"), el("li", { class: "note" }, t("family.zone.community")),
    ...(items.length ? items : [el("li", { class: "note" }, t("family.zone.none"))]));
}

function startDraft() {
  S.draft = [];
  $("zone-hint").hidden = false;
  $("zone-finish").hidden = false;
  $("zone-cancel").hidden = false;
  $("zone-new").hidden = true;
  drawDraft();
}

function endDraft() {
  S.draft = null;
  $("zone-hint").hidden = true;
  $("zone-finish").hidden = true;
  $("zone-cancel").hidden = true;
  $("zone-new").hidden = false;
  drawDraft();
}

function onMapClick(ev) {
  if (!S.draft) return;
  const [x, y] = S.map.eventPoint(ev);
  S.draft.push(S.map.unproject(x, y));
  drawDraft();
}

function drawDraft() {
  const map = S.map;
  map.clear("draft");
  $("zone-finish").disabled = !S.draft || S.draft.length < 3;
  if (!S.draft?.length) return;
  const shape = S.draft.length >= 3 ? "polygon" : "polyline";
  map.layers.draft.append(el(shape, { class: "zone draft", points: map.points(S.draft) }));
  for (const p of S.draft) {
    const [x, y] = map.project(p);
    map.layers.draft.append(el("circle", { class: "trail-dot", cx: x, cy: y, r: 2 }));
  }
}

async function saveDraft() {
  const polygon = S.draft;
  const v = await askForm(t("family.zone.new"), [{ name: "name", label: t("f.name"), required: true }]);
  if (!v) return;
  const made = await attempt(() => api("/geofences", { method: "POST", body: { resident_id: S.current, name: v.name, polygon } }));
  if (!made) return;
  S.zones.push(made);
  endDraft();
  renderZones();
  renderMap();
}

async function toggleZone(z, enabled) {
  const updated = await attempt(() => api(`/geofences/${z.id}`, { method: "PUT", body: { enabled } }));
  if (updated) Object.assign(z, updated);
  renderZones();
  renderMap();
}

async function deleteZone(z) {
  if ((await attempt(() => api(`/geofences/${z.id}`, { method: "DELETE" }))) === undefined) return;
  S.zones = S.zones.filter((x) => x.id !== z.id);
  renderZones();
  renderMap();
}

// ---- live ------------------------------------------------------------------------------

function onEvent(ev) {
  if (ev.type === "ticket") {
    // What the community does about an alarm shows in the banner and the history (one
    // reload per burst of ticket changes).
    if (ev.ticket.resident_id === S.current) {
      clearTimeout(S.reload);
      S.reload = setTimeout(() => open(S.current, true), 300);
    }
    return;
  }
  if (ev.type !== "alert" || ev.action !== "opened") return;
  const a = ev.alert;
  S.banner = { resident_id: a.resident_id, category: a.category, at: a.opened_at };
  renderBanner();
  if (a.severity === "critical") beep();
  if (a.resident_id === S.current) open(S.current, true);
}

main();
