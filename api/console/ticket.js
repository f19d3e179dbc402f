// One ticket for the operator and the grid worker: what happened (the alerts, each step with
// who and when, notes, the worker's report, the rating), where to go, whom to call, and the
// actions the ticket's state allows this role.
import {
  ApiError, api, askForm, attempt, connectLive, el, fmtTime, loadSitemap, session, syncClock, fill } from "./common.js";
import { alertFacts, alertTitle, payloadProblem, placeText } from "./alert-panel.js";
import { icon } from "./icons.js";
import { applyI18n, t } from "./i18n.js";
import {
  DEPARTMENTS, categoryName, escalationBadges, noteBox, placeOf, refreshSla, slaBadge,
  ticketActions, ticketTitle, transition,
} from "./tickets.js";
import { contactBlock, placeBlock } from "./worker.js";
import { reporterBlock } from "./reporter.js";

const $ = (id) => document.getElementById(id);
const id = Number(new URLSearchParams(location.search).get("id"));
let me = null;
let tk = null;
let sitemap = null;
let pending = null;

async function main() {
  me = await session(["admin", "operator", "grid_worker"], { family: "/family" });
  $("back").href = me.role === "grid_worker" ? "/grid" : "/";
  [sitemap] = await Promise.all([loadSitemap(api), syncClock(api)]);
  await connectLive((ev) => { if (ev.type === "ticket" && ev.ticket.id === id) { clearTimeout(pending); pending = setTimeout(load, 250); } }, load);
  document.addEventListener("scgw:lang", render);
  setInterval(() => refreshSla(), 30000);
}

async function load() {
  try {
    tk = await api(`/tickets/${id}`);
  } catch (err) {
    if (!(err instanceof ApiError) || ![404, 422].includes(err.status)) throw err;
    $("ticket-view").hidden = true;
    $("ticket-error").hidden = false;
    $("ticket-error").textContent = t("ticket.notfound");
    return;
  }
  render();
}

function render() {
  if (!tk) return;
  applyI18n();
  $("ticket-view").hidden = false;
  document.title = `${tk.code} · scgw`;
  fill($("summary"),
    el("h2", {}, el("span", {}, tk.code), el("span", { class: `state ${tk.state}`, id: "ticket-state", dataset: { state: tk.state } }, t(`ts.${tk.state}`))),
    el("div", { class: "card-title", id: "ticket-title" }, ticketTitle(tk)),
    el("div", { class: "badges" }, el("span", { class: "badge" }, t(`prio.${tk.priority}`)), slaBadge(tk), escalationBadges(tk)),
    el("dl", { class: "kv" },
      el("dt", {}, t("ticket.category")), el("dd", {}, categoryName(tk)),
      tk.resident_id ? [el("dt", {}, t("ticket.resident")), el("dd", {}, tk.resident_name || tk.resident_id)] : null,
      el("dt", {}, t("dev.place")), el("dd", {}, [placeOf(tk), tk.grid].filter(Boolean).join(" · ") || "—"),
      el("dt", {}, t("ticket.worker")), el("dd", { id: "ticket-assignee" }, tk.assignee_name || tk.assignee || t("ticket.none")),
      el("dt", {}, t("ticket.created")), el("dd", {}, fmtTime(tk.created_at, true)),
      tk.description ? [el("dt", {}, t("dl.detail")), el("dd", {}, tk.description)] : null,
      (tk.attachments || []).length ? [el("dt", {}, t("alert.snapshot")), el("dd", { id: "ticket-attachments" },
        tk.attachments.map((ref, i) => /^https?:\/\//i.test(ref)
          ? el("a", { href: ref, target: "_blank", rel: "noopener noreferrer", class: "link" }, icon("external"), ` ${i + 1} `)
          : el("span", { class: "note" }, ` ${ref} `)))] : null));
  fill($("work"),
    noteBox(tk) || el("div", { class: "note" }, `${t("ticket.note")}: —`),
    tk.result ? el("div", { class: "result", id: "ticket-result" }, el("span", { class: "note" }, `${t("ticket.result")}: `), tk.result) : null,
    tk.rating ? el("div", {}, `${t("ticket.rating")}: ${"★".repeat(tk.rating)}${"☆".repeat(5 - tk.rating)}`) : null,
    el("div", { class: "actions" }, actions()),
    el("form", { class: "toolbar comment", onsubmit: comment },
      el("input", { name: "text", required: true, placeholder: t("ticket.comment"), maxlength: 2000 }),
      el("button", { type: "submit" }, t("act.send"))));
  fill($("place"), placeBlock(tk.place, sitemap));
  fill($("contact"), me.role === "grid_worker" ? contactBlock(tk) || "" : "", reporterBlock(tk));
  const alertItem = (a) => el("li", { dataset: { alertId: a.id } },
    el("span", { class: `sev ${a.severity}` }, t(`sev.${a.severity}`)), el("b", {}, alertTitle(a)),
    el("span", { class: "note" }, [a.device_id, placeText(a), fmtTime(a.opened_at, true), t(`state.${a.state}`)].filter(Boolean).join(" · ")),
    a.worn === false ? el("span", { class: "badge warn", title: t("alert.notworn.why") }, icon("watch-off"), t("alert.notworn")) : null,
    ...payloadProblem(a), alertFacts(a));
  fill($("alerts"), ...(tk.alerts.length ? tk.alerts.map(alertItem) : [el("li", { class: "note" }, "—")]));
  fill($("related"), ...(tk.related.length ? tk.related.map(alertItem) : [el("li", { class: "note" }, "—")]));
  fill($("timeline"), ...timeline());
  refreshSla();
}

function actions() {
  const onChange = () => load();
  if (me.role !== "grid_worker") return ticketActions(tk, onChange);
  if (tk.assignee !== me.username) return [];
  const button = (act, fn, cls) => el("button", { type: "button", class: cls, dataset: { act }, onclick: fn }, t(`act.${act}`));
  return [
    tk.state === "dispatched" ? button("accept", () => transition(tk, { action: "accept" }, onChange), "primary") : null,
    tk.state === "handling" ? button("report", report, "primary") : null,
    ["dispatched", "handling"].includes(tk.state) ? button("escalate", escalate) : null,
  ];
}

async function escalate() {
  const v = await askForm(`${t("act.escalate")} · ${tk.code}`, [
    { name: "department", label: t("f.department"), type: "select", value: "medical", options: DEPARTMENTS.map((d) => [d, t(`dept.${d}`)]) },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "escalate", department: v.department, note: v.note }, () => load());
}

async function report() {
  const v = await askForm(`${t("act.report")} · ${tk.code}`, [
    { name: "result", label: t("f.result"), type: "textarea", required: true },
    { name: "note", label: t("f.note"), type: "textarea" }]);
  if (v) await transition(tk, { action: "report", result: v.result, note: v.note }, () => load());
}

async function comment(ev) {
  ev.preventDefault();
  const text = new FormData(ev.target).get("text");
  if (await attempt(() => api(`/tickets/${id}/comments`, { method: "POST", body: { text } }))) load();
}

/** The alerts that opened the ticket and every step, oldest first. */
function timeline() {
  const steps = tk.alerts.map((a) => ({ at: a.opened_at, alert: a }));
  for (const e of tk.events) steps.push({ at: e.at, event: e });
  steps.sort((a, b) => a.at - b.at);
  return steps.map((s) => {
    if (s.alert) {
      return el("li", { class: "alert-step", dataset: { step: "alert_opened" } },
        el("div", { class: "when" }, fmtTime(s.at, true)),
        el("div", {}, el("b", {}, t("ev.alert_opened")), ` · ${alertTitle(s.alert)} · ${s.alert.device_id}`));
    }
    const e = s.event;
    const who = e.actor === "system" ? t("ev.system") : (e.actor_name || e.actor);
    let what = t(`ev.${e.action}`);
    const d = e.detail || {};
    if (e.action === "dispatch" && d.previous && d.previous !== d.assignee) {
      what = t("ticket.reassign", { from: d.previous, to: d.assignee }) + (d.other_grid ? t("ticket.othergrid") : "");
    } else if (e.action === "dispatch" && d.assignee) {
      what = `${what} → ${d.assignee}${d.other_grid ? t("ticket.othergrid") : ""}`;
    } else if (e.action === "sla_breach" && d.clock) {
      what = t("ev.breach", { clock: t(`sla.${d.clock}`), level: t(`esc.${d.level}`) });
    } else if (e.action === "escalate" && d.department) {
      what = `${what} · ${t(`dept.${d.department}`)}`;
    }
    const showNote = e.note && !(e.actor === "system" && ["collect", "dispatch", "sla_breach", "alert_repeated"].includes(e.action));
    return el("li", { dataset: { step: e.action } },
      el("div", { class: "when" }, `${fmtTime(e.at, true)} · ${who}`),
      el("div", {}, el("b", {}, what), e.from_state && e.from_state !== e.to_state ? ` (${t(`ts.${e.from_state}`)} → ${t(`ts.${e.to_state}`)})` : ""),
      showNote ? el("div", { class: "step-note" }, e.note) : null,
      e.action === "report" && tk.result ? el("div", { class: "result" }, tk.result) : null,
      e.action === "close" && tk.rating ? el("div", {}, `${t("ticket.rating")}: ${tk.rating}/5`) : null);
  });
}

main();
