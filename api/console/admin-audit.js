// The audit logs: reads of residents' location and health data, sign-in attempts (refused
// ones too), sessions, administrative actions — filtered, and exported as the same rows in CSV.
import { accessToken, api, el, fmtTime, toast } from "./common.js";
import { t } from "./i18n.js";
import { table } from "./admin.js";

const $ = (id) => document.getElementById(id);
const PATH = { access: "/audit/access", attempts: "/audit/sign-ins", logins: "/audit/logins", actions: "/audit/actions" };
const BY_USERNAME = new Set(["attempts", "logins"]);

/** Midnight of a yyyy-mm-dd in the site's zone (China has one offset all year). */
function day(value, plus = 0) {
  return value ? Date.parse(`${value}T00:00:00+08:00`) / 1000 + plus * 86400 : null;
}

function query() {
  const f = $("audit-filter").elements;
  const log = f.log.value;
  const q = new URLSearchParams();
  const who = f.who.value.trim();
  const what = f.what.value.trim();
  if (who) q.set(BY_USERNAME.has(log) ? "username" : "actor", who);
  if (what && (log === "access" || log === "actions")) q.set("action", what);
  if (f.resident.value.trim() && log === "access") q.set("resident_id", f.resident.value.trim());
  if (log === "attempts") {
    if (f.outcome.value) q.set("outcome", f.outcome.value);
    if (f.addr.value.trim()) q.set("client_addr", f.addr.value.trim());
  }
  const since = day(f.since.value);
  const until = day(f.until.value, 1);
  if (since) q.set("since", since);
  if (until) q.set("until", until);
  return { log, q };
}

export async function loadAudit() {
  const { log, q } = query();
  const f = $("audit-filter").elements;
  f.resident.hidden = log !== "access";
  f.what.hidden = BY_USERNAME.has(log);
  f.outcome.hidden = log !== "attempts";
  f.addr.hidden = log !== "attempts";
  const rows = await api(`${PATH[log]}?${q}`);
  document.body.dataset.auditLog = log;
  $("audit-count").textContent = t("admin.audit.count", { n: rows.length });
  if (log === "access") {
    table($("audit-table"), [t("admin.audit.at"), t("admin.audit.actor"), t("admin.audit.action"), t("admin.audit.residents"),
      t("dev.id"), t("admin.audit.outcome"), t("admin.audit.addr")], rows.map((r) => ({ data: { action: r.action }, cells: [
      fmtTime(r.at, true), `${r.actor}（${t(`role.${r.role}`)}）`, r.action, r.residents.join("、") || "—", r.device_id || "—",
      el("span", { class: r.outcome === "allowed" ? "badge ok" : "badge warn" }, t(`admin.audit.${r.outcome}`)), r.client_addr || "—"] })));
  } else if (log === "attempts") {
    table($("audit-table"), [t("admin.audit.at"), t("admin.audit.user"), t("admin.audit.outcome"), t("admin.user.role"),
      t("admin.audit.addr"), t("admin.audit.agent")], rows.map((r) => ({ data: { user: r.username, outcome: r.outcome }, cells: [
      fmtTime(r.at, true), r.username,
      el("span", { class: r.outcome === "ok" ? "badge ok" : "badge warn" }, t(`admin.audit.result.${r.outcome}`)),
      r.role ? t(`role.${r.role}`) : "—", r.client_addr || "—", el("span", { class: "note" }, r.user_agent.slice(0, 60))] })));
  } else if (log === "logins") {
    table($("audit-table"), [t("admin.audit.at"), t("admin.user.username"), t("admin.user.role"), t("admin.audit.addr"),
      t("admin.audit.ended"), t("admin.audit.agent")], rows.map((r) => ({ data: { user: r.username }, cells: [
      fmtTime(r.created_at, true), r.username, t(`role.${r.role}`), r.client_addr || "—",
      r.revoked_at ? `${fmtTime(r.revoked_at, true)} · ${r.revoked_reason || ""}` : "—", el("span", { class: "note" }, r.user_agent.slice(0, 60))] })));
  } else {
    table($("audit-table"), [t("admin.audit.at"), t("admin.audit.actor"), t("admin.audit.action"), t("admin.audit.target"),
      t("dl.detail"), t("admin.audit.addr")], rows.map((r) => ({ data: { action: r.action }, cells: [
      fmtTime(r.at, true), `${r.actor}（${t(`role.${r.role}`)}）`, r.action, r.target, r.detail || "—", r.client_addr || "—"] })));
  }
}

/** The filtered rows as CSV, downloaded as a file (UTF-8 with BOM: spreadsheets read it). */
async function exportCsv() {
  const { log, q } = query();
  const resp = await fetch(`${PATH[log]}.csv?${q}`, { headers: { Authorization: `Bearer ${accessToken()}` } });
  if (!resp.ok) { toast(t("err.generic", { msg: resp.status }), "error"); return; }
  const link = el("a", { href: URL.createObjectURL(await resp.blob()), download: `${log}-audit.csv` });
  document.body.append(link);
  link.click();
  link.remove();
}

export function wireAudit() {
  $("audit-filter").addEventListener("submit", (ev) => { ev.preventDefault(); loadAudit(); });
  $("audit-filter").elements.log.addEventListener("change", loadAudit);
  $("audit-filter").elements.outcome.addEventListener("change", loadAudit);
  $("audit-csv").addEventListener("click", exportCsv);
}
