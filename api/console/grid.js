// Grid worker view: my tickets with what it takes to act (the control room's note, where to go
// and how, whom to call, time left), then the grid's other open tickets.
import {
  api, askForm, attempt, connectLive, el, fmtTime, loadSitemap, session, syncClock, toast,
} from "./common.js";
import { applyI18n, t } from "./i18n.js";
import { DEPARTMENTS, categoryName, escalationBadges, noteBox, placeOf, refreshSla, slaBadge, ticketTitle } from "./tickets.js";
import { contactBlock, placeBlock } from "./worker.js";

const OPEN = new Set(["collected", "dispatched", "handling", "feedback", "escalated"]);
// Where-to-go (read per ticket, audited when it comes from the wearer's position) for the
// most urgent of my tickets; the others show it on their ticket page.
const DETAILED = 5;
let me = null;
let tickets = [];
let sitemap = null;
let pending = null;
const details = new Map();  // "id:updated_at" → detail (re-read only when the ticket changed)

async function main() {
  me = await session(["grid_worker"], { admin: "/", operator: "/", family: "/family" });
  [sitemap] = await Promise.all([loadSitemap(api), syncClock(api)]);
  await connectLive((ev) => { if (ev.type === "ticket") refreshSoon(); }, load);
  document.addEventListener("scgw:lang", render);
  setInterval(() => refreshSla(), 30000);
}

async function load() {
  tickets = await api("/tickets?limit=500");
  const mine = tickets.filter((tk) => tk.assignee === me.username && OPEN.has(tk.state)).sort(urgency);
  await Promise.all(mine.slice(0, DETAILED).map(async (tk) => {
    const key = `${tk.id}:${tk.updated_at}`;
    if (!details.has(key)) details.set(key, await api(`/tickets/${tk.id}`).catch(() => null));
  }));
  render();
}

// Ticket events arrive in bursts (alert + ticket + dispatch): one reload per burst.
function refreshSoon() {
  clearTimeout(pending);
  pending = setTimeout(load, 250);
}

function card(tk) {
  const mine = tk.assignee === me.username;
  const detail = mine ? details.get(`${tk.id}:${tk.updated_at}`) : null;
  const button = (act, fn, cls) => el("button", { type: "button", class: cls, dataset: { act }, onclick: () => fn(tk) }, t(`act.${act}`));
  return el("div", { class: `card prio-${tk.priority}${tk.overdue ? " overdue" : ""}`, dataset: { ticketId: tk.id, state: tk.state } },
    el("div", { class: "code" }, el("a", { href: `/ticket?id=${tk.id}`, dataset: { act: "open" } }, tk.code), ` · ${t(`prio.${tk.priority}`)} · ${t(`ts.${tk.state}`)}`),
    el("div", { class: "card-title" }, ticketTitle(tk)),
    el("div", { class: "badges" }, slaBadge(tk), escalationBadges(tk)),
    el("div", { class: "meta" }, [categoryName(tk), tk.resident_name, placeOf(tk), tk.grid, fmtTime(tk.created_at, true)].filter(Boolean).join(" · ")),
    mine ? noteBox(tk) : null,
    // A resident's own words matter; an alert ticket's text repeats what the card shows.
    tk.description && tk.source !== "alert" ? el("div", { class: "meta description" }, tk.description) : null,
    mine && detail ? placeBlock(detail.place, sitemap) : null,
    mine ? contactBlock(tk) : null,
    tk.result ? el("div", { class: "result" }, `${t("ticket.result")}: ${tk.result}`) : null,
    el("div", { class: "actions" },
      mine && tk.state === "dispatched" ? button("accept", accept, "primary") : null,
      mine && tk.state === "handling" ? button("report", report, "primary") : null,
      mine && ["dispatched", "handling"].includes(tk.state) ? button("escalate", escalate) : null,
      el("a", { class: "button", href: `/ticket?id=${tk.id}` }, t("act.details"))));
}

/** Overdue first, then the least time left, then the latest change. */
function urgency(a, b) {
  return (Boolean(b.overdue) - Boolean(a.overdue)) || ((a.sla_due || Infinity) - (b.sla_due || Infinity)) || (b.updated_at - a.updated_at);
}

function render() {
  applyI18n();
  const open = tickets.filter((tk) => OPEN.has(tk.state)).sort(urgency);
  const mine = open.filter((tk) => tk.assignee === me.username);
  const area = open.filter((tk) => tk.assignee !== me.username);
  const fill = (id, list) => document.getElementById(id).replaceChildren(...(list.length ? list.map(card) : [el("div", { class: "empty" }, t("grid.none"))]));
  fill("mine", mine);
  fill("area", area);
  refreshSla();
}

async function transition(tk, body) {
  const updated = await attempt(() => api(`/tickets/${tk.id}/transitions`, { method: "POST", body }));
  if (updated) { toast(`${updated.code} → ${t(`ts.${updated.state}`)}`); await load(); }
}

const accept = (tk) => transition(tk, { action: "accept" });

async function report(tk) {
  const v = await askForm(`${t("act.report")} · ${tk.code}`, [
    { name: "result", label: t("f.result"), type: "textarea", required: true },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "report", result: v.result, note: v.note });
}

async function escalate(tk) {
  const v = await askForm(`${t("act.escalate")} · ${tk.code}`, [
    { name: "department", label: t("f.department"), type: "select", value: "medical", options: DEPARTMENTS.map((d) => [d, t(`dept.${d}`)]) },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "escalate", department: v.department, note: v.note });
}

main();
