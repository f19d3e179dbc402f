// Grid worker view: my tickets, accept, report the result with a note.
import { api, askForm, attempt, connectLive, el, fmtTime, session, toast } from "./common.js";
import { applyI18n, t } from "./i18n.js";

const DEPARTMENTS = ["police", "fire", "medical", "property", "city_management"];
const OPEN = new Set(["collected", "dispatched", "handling", "feedback", "escalated"]);
let me = null;
let tickets = [];
let pending = null;

async function main() {
  me = await session(["grid_worker"], { admin: "/", operator: "/", family: "/family" });
  await load();
  connectLive((ev) => { if (ev.type === "ticket") refreshSoon(); }, refreshSoon);
  document.addEventListener("scgw:lang", render);
}

async function load() {
  tickets = await api("/tickets?limit=500");
  render();
}

// Ticket events arrive in bursts (alert + ticket + dispatch): one reload per burst.
function refreshSoon() {
  clearTimeout(pending);
  pending = setTimeout(load, 250);
}

function card(tk) {
  const mine = tk.assignee === me.username;
  const button = (act, fn, cls) => el("button", { class: cls, dataset: { act }, onclick: () => fn(tk) }, t(`act.${act}`));
  return el("div", { class: `card prio-${tk.priority}`, dataset: { ticketId: tk.id, state: tk.state } },
    el("div", { class: "code" }, `${tk.code} · ${t(`prio.${tk.priority}`)} · ${t(`ts.${tk.state}`)}`),
    el("div", {}, el("b", {}, tk.title || t(`cat.${tk.category}`))),
    el("div", { class: "meta" }, [t(`cat.${tk.category}`), tk.building && `${tk.building}-${tk.unit || ""}${tk.room ? `-${tk.room}` : ""}`,
      tk.grid, fmtTime(tk.created_at, true)].filter(Boolean).join(" · ")),
    tk.description ? el("div", { class: "meta" }, tk.description) : null,
    tk.result ? el("div", { class: "meta" }, `${t("f.result")}: ${tk.result}`) : null,
    el("div", { class: "actions" },
      mine && tk.state === "dispatched" ? button("accept", accept, "primary") : null,
      mine && tk.state === "handling" ? button("report", report, "primary") : null,
      mine && ["dispatched", "handling"].includes(tk.state) ? button("escalate", escalate) : null));
}

function render() {
  applyI18n();
  const open = tickets.filter((tk) => OPEN.has(tk.state)).sort((a, b) => b.updated_at - a.updated_at);
  const mine = open.filter((tk) => tk.assignee === me.username);
  const area = open.filter((tk) => tk.assignee !== me.username);
  const fill = (id, list) => document.getElementById(id).replaceChildren(...(list.length ? list.map(card) : [el("div", { class: "empty" }, t("grid.none"))]));
  fill("mine", mine);
  fill("area", area);
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
