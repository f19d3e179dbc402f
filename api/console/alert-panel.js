// The operator's alert list: incidents (see incidents.js), filters, pages of 200 rows, the
// ack-timeout countdown and why an alert came back, and marks for alerts that contradict
// their device (band not worn), came from a salvaged (faulty) payload, or are muted.
import { el, fmtClock, fmtSpan, fmtTime, serverNow, fill } from "./ui.js";
import { picture } from "./session.js";
import { icon } from "./icons.js";
import { getLang, pick, t } from "./i18n.js";
import { countAlerts, groupIncidents, matches, needsAck } from "./incidents.js";

export const PAGE = 200;
const SEVERITIES = ["critical", "major", "minor", "info"];

export function alertTitle(a) { return pick(a.name_zh, a.name_en) || t(`cat.${a.category}`); }

/** The badge and the text of an alert raised by a salvaged payload (none otherwise). */
export function payloadProblem(a) {
  if (!a.payload_problem) return [null, null];
  return [
    el("span", { class: "badge warn", dataset: { badge: "payload" }, title: t("alert.payload.why") }, icon("alert"), t("alert.payload")),
    el("div", { class: "payload-problem", dataset: { payloadProblem: "1" } }, `${t("alert.payload.label")}${a.payload_problem}`),
  ];
}

const TIME_FACTS = new Set(["since", "last_seen", "idle_since", "began"]);

/** One fact of an alert (floor 12, zone FL-2, 35 %LEL…) in the reader's words. */
function factText(name, value) {
  const label = t(`fact.${name}`);
  let shown = value;
  if (typeof value === "boolean") shown = t(value ? "fact.yes" : "fact.no");
  // Text is the device's own words (a zone name, a door): quoted, so "FALSE ALARM, clear it"
  // reads as what the device said, not as the console's advice.
  else if (typeof value === "string") shown = `「${value}」`;
  else if (typeof value === "number") {
    if (TIME_FACTS.has(name) || name.endsWith("_at")) shown = fmtTime(value, true);
    else if (name.endsWith("_s")) shown = `${value < 0 ? "−" : ""}${fmtSpan(Math.abs(value))}`;
    else if (name === "confidence") shown = `${Math.round(value * 100)}%`;
    else if (name.endsWith("_pct")) shown = `${Math.round(value * 10) / 10}%`;
    else shown = String(Math.round(value * 100) / 100);
  }
  return `${label.startsWith("fact.") ? name : label} ${shown}`;
}

/** What raised the alert (the event's fields, the rule's measure), and its picture. */
export function alertFacts(a) {
  // A link to the picture on the pole's camera or the NVR opens it (site network), rather
  // than being read out as text (vendor round 4); only http(s), the model already refused
  // any other scheme.
  // `snapshot_ref` comes whole (a signed link cut to a fact's length opened nothing); an
  // rtsp:// or nvr:// reference is shown as text for the NVR's own client.
  const link = typeof a.snapshot_ref === "string" ? a.snapshot_ref : null;
  const ref = link && /^https?:\/\//i.test(link) ? link : null;
  const facts = Object.entries(a.facts || {}).map(([k, v]) => factText(k, v));
  if (link && !ref) facts.push(factText("snapshot_ref", link));
  if (!facts.length && !a.snapshot_url && !ref) return null;
  const box = el("div", { class: "facts", dataset: { facts: "1" } }, facts.join(" · "));
  if (ref) {
    box.append(" ", el("a", { href: ref, target: "_blank", rel: "noopener noreferrer", class: "link",
      dataset: { act: "snapshot-ref" } }, icon("external"), t("alert.snapshot")));
  }
  if (a.snapshot_url) {
    const show = el("button", { type: "button", class: "link", dataset: { act: "snapshot" } }, icon("external"), t("alert.snapshot"));
    show.addEventListener("click", async () => {
      show.disabled = true;
      const src = await picture(a.snapshot_url);
      show.replaceWith(src ? el("a", { href: src, target: "_blank", rel: "noopener" }, el("img", { src, alt: t("alert.snapshot"), class: "thumb" }))
        : el("span", { class: "note" }, t("alert.snapshot.none")));
    });
    box.append(" ", show);
  }
  return box;
}

export function placeText(a) {
  if (!a.building) return "";
  return getLang() === "zh" ? `${a.building}号楼${a.unit ? `${a.unit}单元` : ""}` : `Bldg ${a.building}${a.unit ? `-${a.unit}` : ""}`;
}

export class AlertPanel {
  /** ctx: {names: {resident id: name}, windowS, ticketFor(a), act: {ack, clear, silence, locate}} */
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.alerts = new Map();
    this.filter = { state: "", severity: "", category: "", kind: "", grid: "", q: "" };
    this.shown = PAGE;
    this.focus = null;
    this.rows = new Map();  // alert id → {key, node}: unchanged rows are reused, not rebuilt
    this.list = root.querySelector("#alerts");
    this.toolbar = root.querySelector("#alert-filters");
    this.more = root.querySelector("#alerts-more");
    this.status = root.querySelector("#alerts-status");
    this.more.addEventListener("click", () => { this.shown += PAGE; this.render(); });
  }

  counts() { return countAlerts(this.alerts.values(), this.ctx.windowS); }

  setFilter(patch) {
    Object.assign(this.filter, patch);
    this.shown = PAGE;
    this.render();
  }

  renderToolbar() {
    const all = [...this.alerts.values()];
    const uniq = (f) => [...new Set(all.map(f).filter(Boolean))].sort();
    const select = (name, options) => el("select", { name, "aria-label": t(`filter.${name}`), onchange: (ev) => this.setFilter({ [name]: ev.target.value }) },
      el("option", { value: "" }, t(`filter.${name}`)),
      options.map(([v, label]) => el("option", { value: v, selected: this.filter[name] === v }, label)));
    const search = el("input", { type: "search", name: "q", value: this.filter.q, placeholder: t("filter.search"),
      oninput: (ev) => { this.filter.q = ev.target.value.trim(); this.shown = PAGE; this.render(false); } });
    fill(this.toolbar,
      select("state", [["active", t("count.active")], ["acknowledged", t("state.acknowledged")], ["muted", t("state.muted")]]),
      select("severity", SEVERITIES.map((s) => [s, t(`sev.${s}`)])),
      select("category", uniq((a) => a.category).map((c) => [c, t(`cat.${c}`)])),
      select("kind", uniq((a) => a.kind).map((k) => [k, t(`kind.${k}`)])),
      select("grid", uniq((a) => a.grid).map((g) => [g, g])),
      search,
      el("button", { type: "button", class: "secondary", onclick: () => { this.filter = { state: "", severity: "", category: "", kind: "", grid: "", q: "" }; this.shown = PAGE; this.render(); } }, t("filter.clear")));
  }

  render(toolbar = true) {
    const started = performance.now();
    if (toolbar) this.renderToolbar();
    const names = this.ctx.names();
    const all = [...this.alerts.values()];
    for (const id of this.rows.keys()) if (!this.alerts.has(id)) this.rows.delete(id);
    const visible = all.filter((a) => matches(a, this.filter, names));
    const incidents = groupIncidents(visible, this.ctx.windowS);
    const items = [];
    let rows = 0;
    for (const inc of incidents) {
      if (rows >= this.shown) break;
      items.push(this.incident(inc, names));
      rows += inc.alerts.length;
    }
    fill(this.list, ...(items.length ? items : [el("li", { class: "empty" }, t("alerts.none"))]));
    const left = visible.length - rows;
    this.more.hidden = left <= 0;
    this.more.textContent = t("alerts.more", { n: Math.min(PAGE, Math.max(left, 0)), total: visible.length });
    this.status.textContent = visible.length === all.length ? "" : t("alerts.shown", { n: visible.length, total: all.length });
    this.root.dataset.rendered = String(Number(this.root.dataset.rendered || 0) + 1);
    this.root.dataset.renderMs = (performance.now() - started).toFixed(1);  // for the bench
  }

  incident(inc, names) {
    const now = serverNow();
    const who = inc.resident_id ? (names[inc.resident_id] || inc.resident_id)
      : (placeText(inc.alerts[0]) || inc.alerts[0].device_id);
    const rows = inc.alerts.map((a) => this.row(a, names, inc.alerts.length > 1));
    const head = inc.alerts.length > 1 ? el("div", { class: "incident-head" },
      el("span", { class: `sev ${inc.severity}` }, t(`sev.${inc.severity}`)),
      el("b", {}, who),
      el("span", { class: "note" }, [t("incident.alerts", { n: inc.alerts.length }), inc.grid,
        t("incident.first", { t: fmtTime(inc.first, true) }),
        inc.needsAck ? t("incident.waiting", { d: fmtSpan(now - inc.first) }) : null].filter(Boolean).join(" · "))) : null;
    return el("li", { class: `incident sev-${inc.severity}${inc.needsAck ? " needs-ack" : ""}`, dataset: { incident: inc.id, size: inc.alerts.length } },
      head, el("ul", { class: "alerts-in" }, rows));
  }

  /** The row of an alert, reused when nothing it shows has changed. */
  row(a, names, grouped) {
    const ticket = this.ctx.ticketFor(a);
    const key = [a.state, a.severity, a.muted, a.escalations, a.ack_due, a.worn, a.count, a.flapping,
      a.acked_by, grouped, this.focus === a.id, ticket?.id, getLang(), names[a.resident_id], a.payload_problem,
      JSON.stringify(a.facts || {}), a.snapshot_url].join("|");
    const held = this.rows.get(a.id);
    if (held && held.key === key) return held.node;
    const node = this.buildRow(a, names, grouped, ticket);
    this.rows.set(a.id, { key, node });
    return node;
  }

  buildRow(a, names, grouped, ticket) {
    const now = serverNow();
    const act = this.ctx.act;
    const button = (name, fn, cls) => el("button", { type: "button", class: cls, dataset: { act: name }, onclick: () => fn(a) }, t(`act.${name}`));
    const badges = [];
    if (a.worn === false) {
      badges.push(el("span", { class: "badge warn", dataset: { badge: "notworn" }, title: t("alert.notworn.why") }, icon("watch-off"), t("alert.notworn")));
    }
    if (a.state === "active" && a.escalations > 0) {
      badges.push(el("span", { class: "badge critical", dataset: { badge: "reescalated" }, title: t("alert.reescalated.why") }, icon("repeat"), t("alert.reescalated", { n: a.escalations })));
    }
    const [problemBadge, problemText] = payloadProblem(a);
    if (problemBadge) badges.push(problemBadge);
    if (a.muted) badges.push(el("span", { class: "badge muted", dataset: { badge: "muted" }, title: a.muted }, icon("bell-off"), t("alert.muted")));
    if (a.flapping) badges.push(el("span", { class: "badge", dataset: { badge: "flapping" } }, t("alert.flapping")));
    const countdown = a.state === "acknowledged" && a.ack_due
      ? el("div", { class: "countdown", dataset: { due: a.ack_due } }, icon("clock"), el("span", {}, t("alert.countdown", { t: fmtClock(a.ack_due - now) })))
      : null;
    const meta = [grouped ? null : (a.resident_id && (names[a.resident_id] || a.resident_id)), a.device_id, placeText(a),
      a.grid, fmtTime(a.opened_at, true), a.count > 1 ? t("alert.count", { n: a.count }) : null,
      a.state === "acknowledged" && a.acked_by ? `${t("state.acknowledged")}: ${a.acked_by}` : null].filter(Boolean).join(" · ");
    return el("li", {
      class: `alert sev-${a.severity} state-${a.state}${a.muted ? " muted" : ""}${this.focus === a.id ? " focus" : ""}`,
      dataset: { alertId: a.id, device: a.device_id, state: a.state, severity: a.severity, needsAck: needsAck(a) ? "1" : "0" },
    },
    el("div", { class: "row1" },
      el("span", { class: `sev ${a.severity}` }, t(`sev.${a.severity}`)),
      el("span", { class: "title" }, alertTitle(a)),
      el("span", { class: `state ${a.state}` }, t(`state.${a.state}`)), badges),
    el("div", { class: "meta" }, meta),
    alertFacts(a),
    problemText,
    countdown,
    el("div", { class: "actions" },
      a.state === "active" ? button("ack", act.ack, "primary") : null,
      button("clear", act.clear), button("silence", act.silence), button("locate", act.locate),
      ticket ? el("a", { class: "button", href: `/ticket?id=${ticket.id}`, dataset: { act: "ticket" } }, icon("external"), `${t("alert.ticket")} ${ticket.code}`) : null));
  }

  /** Move the ack countdowns on (every second, without re-rendering the list). */
  tick() {
    const now = serverNow();
    this.list.querySelectorAll(".countdown[data-due]").forEach((node) => {
      node.lastChild.textContent = t("alert.countdown", { t: fmtClock(Number(node.dataset.due) - now) });
    });
  }
}
