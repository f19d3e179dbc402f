// Tickets as cards and the operator's actions on them, shared by the console's board and the
// ticket page: SLA time left or overdue, escalation, the note, and a dispatch form that offers
// only the grid workers who may take the ticket (the server refuses anyone else).
import { api, askForm, attempt, el, fmtSpan, fmtTime, serverNow, toast } from "./common.js";
import { icon } from "./icons.js";
import { getLang, pick, t } from "./i18n.js";

export const DEPARTMENTS = ["police", "fire", "medical", "property", "city_management"];

/** The title people read: the rule that opened it, else a title someone wrote, else the
 * category — in the chosen language (an automatic title is the category's zh name). */
export function ticketTitle(tk) {
  const auto = !tk.title || tk.title === tk.category_zh;
  if (tk.rule_name_zh) return pick(tk.rule_name_zh, tk.rule_name_en);
  return auto ? pick(tk.category_zh, tk.category_en) || t(`cat.${tk.category}`) : tk.title;
}

export function categoryName(tk) { return pick(tk.category_zh, tk.category_en) || t(`cat.${tk.category}`); }

export function placeOf(tk) {
  const zh = getLang() === "zh";
  if (!tk.building) return "";
  return zh ? `${tk.building}号楼${tk.unit ? `${tk.unit}单元` : ""}${tk.room ? `${tk.room}室` : ""}`
    : `Bldg ${tk.building}${tk.unit ? `-${tk.unit}` : ""}${tk.room ? `-${tk.room}` : ""}`;
}

/** "剩余 12 分钟 · 接单" or "超时 35 分钟 · 派发" (live: recomputed by refreshSla). */
export function slaBadge(tk) {
  if (!tk.sla_due) return null;
  return el("span", { class: "sla", dataset: { slaDue: tk.sla_due, slaClock: tk.sla_clock || "" } }, icon("clock"), el("span", {}, slaText(tk.sla_due, tk.sla_clock)));
}

function slaText(due, clock) {
  const left = due - serverNow();
  const text = left >= 0 ? t("sla.left", { d: fmtSpan(left) }) : t("sla.over", { d: fmtSpan(-left) });
  return clock ? `${text} · ${t(`sla.${clock}`)}` : text;
}

/** Update every SLA badge under `root` to the current time (overdue ones turn red). */
export function refreshSla(root = document) {
  root.querySelectorAll(".sla[data-sla-due]").forEach((node) => {
    const due = Number(node.dataset.slaDue);
    node.classList.toggle("over", due <= serverNow());
    node.lastChild.textContent = slaText(due, node.dataset.slaClock);
  });
}

export function escalationBadges(tk) {
  const out = [];
  if (tk.escalated_to) out.push(el("span", { class: "badge critical", dataset: { badge: "escalated" } }, icon("up"), t("esc.level", { who: t(`esc.${tk.escalated_to}`) })));
  if (tk.department && ["escalated", "handling"].includes(tk.state)) out.push(el("span", { class: "badge", dataset: { badge: "department" } }, t("esc.dept", { dept: t(`dept.${tk.department}`) })));
  if (tk.worn === false) out.push(el("span", { class: "badge warn", dataset: { badge: "notworn" }, title: t("alert.notworn.why") }, icon("watch-off"), t("alert.notworn")));
  return out;
}

export function noteBox(tk) {
  if (!tk.note) return null;
  return el("div", { class: "note-box", dataset: { note: "1" } },
    el("span", { class: "note" }, `${t("ticket.note")} · ${tk.note_by || ""} · ${fmtTime(tk.note_at, true)}`),
    el("div", {}, tk.note));
}

/** The board card. `onChange(ticket)` receives the updated ticket after an action. */
export function boardCard(tk, names, onChange) {
  const overdue = tk.sla_due && tk.sla_due <= serverNow();
  return el("div", { class: `card prio-${tk.priority}${overdue ? " overdue" : ""}`, dataset: { ticketId: tk.id, state: tk.state } },
    el("div", { class: "code" }, el("a", { href: `/ticket?id=${tk.id}`, dataset: { act: "open" } }, tk.code), ` · ${t(`prio.${tk.priority}`)}`),
    el("div", { class: "card-title" }, ticketTitle(tk)),
    el("div", { class: "badges" }, slaBadge(tk), escalationBadges(tk)),
    el("div", { class: "meta" }, [categoryName(tk), tk.grid || "—", placeOf(tk),
      tk.resident_id && (tk.resident_name || names[tk.resident_id] || tk.resident_id)].filter(Boolean).join(" · ")),
    el("div", { class: "meta" }, `${t("ticket.assignee")}: `,
      el("span", { class: "assignee" }, tk.assignee_name || tk.assignee || t("ticket.none"))),
    tk.result ? el("div", { class: "result" }, el("span", { class: "note" }, `${t("ticket.result")}: `), tk.result) : null,
    el("div", { class: "actions" }, ticketActions(tk, onChange)));
}

export function ticketActions(tk, onChange) {
  const s = tk.state;
  const button = (act, fn, cls) => el("button", { type: "button", class: cls, dataset: { act }, onclick: () => fn(tk, onChange) }, t(`act.${act}`));
  return [
    ["collected", "dispatched"].includes(s) ? button("dispatch", dispatch, "primary") : null,
    ["collected", "dispatched", "handling"].includes(s) ? button("escalate", escalate) : null,
    ["collected", "dispatched", "handling", "escalated"].includes(s) ? button("transfer", transfer) : null,
    ["feedback", "transferred"].includes(s) ? button("close", closeTicket, "primary") : null,
  ];
}

export async function transition(tk, body, onChange) {
  const updated = await attempt(() => api(`/tickets/${tk.id}/transitions`, { method: "POST", body }));
  if (updated) { onChange?.(updated); toast(`${updated.code} → ${t(`ts.${updated.state}`)}`); }
  return updated;
}

async function dispatch(tk, onChange) {
  const people = await attempt(() => api(`/tickets/${tk.id}/assignees`));
  if (!people) return;
  const label = (c) => `${c.name} (${c.username}${c.grid ? ` · ${c.grid}` : ""}) · ${t("f.assignee.open", { n: c.open_tickets })}`;
  const groups = [
    [t("f.assignee.duty"), people.filter((c) => c.same_grid && c.on_duty)],
    [t("f.assignee.grid"), people.filter((c) => c.same_grid && !c.on_duty)],
    [t("f.assignee.other"), people.filter((c) => !c.same_grid)],
  ].map(([name, list]) => [name, list.map((c) => [c.username, label(c)])]);
  const first = people.find((c) => c.username !== tk.assignee) || people[0];
  const v = await askForm(`${t("act.dispatch")} · ${tk.code}`, [
    { name: "assignee", label: t("f.assignee"), type: "select", required: true, value: first?.username, groups },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (!v) return;
  const chosen = people.find((c) => c.username === v.assignee);
  // Choosing from the "other grids" group is the explicit cross-grid choice the server asks for.
  await transition(tk, { action: "dispatch", assignee: v.assignee, note: v.note, other_grid: Boolean(chosen && !chosen.same_grid && tk.grid) }, onChange);
}

async function escalate(tk, onChange) {
  const v = await askForm(`${t("act.escalate")} · ${tk.code}`, [
    { name: "department", label: t("f.department"), type: "select", value: "medical", options: DEPARTMENTS.map((d) => [d, t(`dept.${d}`)]) },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "escalate", department: v.department, note: v.note }, onChange);
}

async function transfer(tk, onChange) {
  const v = await askForm(`${t("act.transfer")} · ${tk.code}`, [{ name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "transfer", note: v.note }, onChange);
}

async function closeTicket(tk, onChange) {
  // The worker's report is what the operator closes on: show it in the form.
  const fields = [{ name: "result", label: t("ticket.result"), type: "info", value: tk.result },
    { name: "note", label: t("f.note"), type: "textarea" }];
  if (tk.source === "resident") fields.splice(1, 0, { name: "rating", label: t("f.rating"), type: "number", min: 1, max: 5, value: "5", required: true });
  const v = await askForm(`${t("act.close")} · ${tk.code}`, fields);
  if (v) await transition(tk, { action: "close", note: v.note, ...(v.rating ? { rating: Number(v.rating) } : {}) }, onChange);
}
