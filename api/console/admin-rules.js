// Rules: each with its condition, its thresholds as running now (the rule file's number, the
// bounds an admin may move it within, who changed it), on or off (who switched it, when,
// why), the switch and the threshold edit with a reason, and the history of every change.
import { api, askForm, attempt, el, fill, fmtTime, toast } from "./common.js";
import { pick, t } from "./i18n.js";
import { kindName, table } from "./admin.js";

const $ = (id) => document.getElementById(id);
const num = (v) => Number(v).toLocaleString("en", { maximumFractionDigits: 3, useGrouping: false });

function params(p) {
  return el("span", { class: "params" }, Object.entries(p).map(([k, v]) =>
    el("code", {}, `${k}=${Array.isArray(v) || typeof v === "object" ? JSON.stringify(v) : v}`)));
}

/** A signal in words (its key when the words do not have it). */
function signalName(s) {
  const word = t(`sig.${s}`);
  return word === `sig.${s}` ? s : word;
}

function numbers(values) {
  return Object.entries(values).map(([k, v]) => `${t(`admin.rule.op.${k}`)} ${num(v)}`).join(" · ");
}

/** One threshold: what runs now, the file's numbers and bounds, who changed it, the button. */
function threshold(r, th) {
  const changed = th.changed_by !== null;
  return el("div", { class: "threshold", dataset: { index: String(th.index), signal: th.signal } },
    el("div", {}, el("b", {}, signalName(th.signal)), " ", el("span", { class: "current" }, numbers(th.current)),
      changed ? el("span", { class: "badge warn" }, t("admin.rule.changed")) : null),
    el("div", { class: "note" }, th.editable
      ? [t("admin.rule.bounds", { min: num(th.bounds.min), max: num(th.bounds.max) }),
        changed ? ` · ${t("admin.rule.file", { v: numbers(th.declared) })}` : ""]
      : t("admin.rule.fixed")),
    changed ? el("div", { class: "note" }, `${th.changed_by} · ${fmtTime(th.changed_at, true)}${th.change_reason ? ` · ${th.change_reason}` : ""}`) : null,
    th.editable && r.running ? el("button", { type: "button", dataset: { act: "threshold" }, onclick: () => retune(r, th) },
      t("admin.rule.edit")) : null);
}

export async function loadRules() {
  const [rules, history] = await Promise.all([api("/admin/rules"), api("/admin/rules/changes?limit=100")]);
  table($("rules-table"), [t("admin.rule.name"), t("dev.kind"), t("admin.rule.severity"), t("admin.rule.condition"),
    t("admin.user.state"), ""], rules.map((r) => ({
    data: { rule: r.id },
    cells: [el("div", {}, el("b", {}, pick(r.name_zh, r.name_en)), el("div", { class: "note" }, r.id)),
      r.kind.split(",").map(kindName).join("、"),
      el("span", { class: `sev ${r.severity}` }, t(`sev.${r.severity}`)),
      el("div", {}, el("div", {}, r.condition), r.thresholds.map((th) => threshold(r, th)), params(r.params)),
      el("div", {}, el("span", { class: r.enabled ? "badge ok" : "badge warn", dataset: { enabled: String(r.enabled) } },
        t(!r.running ? "admin.rule.notrunning" : r.enabled ? "admin.enabled" : "admin.disabled")),
      r.switched_by ? el("div", { class: "note" }, `${r.switched_by} · ${fmtTime(r.switched_at, true)}${r.switch_reason ? ` · ${r.switch_reason}` : ""}`) : null),
      r.running ? el("button", { type: "button", class: r.enabled ? "danger" : "", dataset: { act: r.enabled ? "disable" : "enable" },
        onclick: () => flip(r) }, t(r.enabled ? "admin.disable" : "admin.enable")) : ""],
  })));
  fill($("rules-history"), history.length ? history.map((h) => el("li", { dataset: { rule: h.rule_id, change: h.change } },
    `${fmtTime(h.at, true)} · ${h.actor} · ${t(`admin.rule.${h.change}`)} · ${h.rule_id}${h.detail ? ` · ${h.detail}` : ""}${h.reason ? ` · ${h.reason}` : ""}`))
    : el("li", { class: "note" }, t("admin.none")));
}

async function flip(r) {
  const v = await askForm(t(r.enabled ? "admin.rule.off.title" : "admin.rule.on.title", { name: pick(r.name_zh, r.name_en) }), [
    { name: "reason", label: t("f.reason"), type: "textarea", required: true }]);
  if (!v) return;
  const done = await attempt(() => api(`/admin/rules/${encodeURIComponent(r.id)}/switch`, { method: "POST",
    body: { enabled: !r.enabled, reason: v.reason.trim() } }));
  if (done) { toast(t("admin.saved")); await loadRules(); }
}

/** Move a threshold within its bounds (the browser checks them; the server decides). */
async function retune(r, th) {
  const { min, max } = th.bounds;
  const v = await askForm(t("admin.rule.edit.title", { name: pick(r.name_zh, r.name_en) }), [
    { type: "info", name: "bounds", label: `${signalName(th.signal)} · ${t("admin.rule.file", { v: numbers(th.declared) })}`,
      value: t("admin.rule.bounds", { min: num(min), max: num(max) }) },
    ...Object.entries(th.current).map(([k, cur]) => ({ name: k, label: t(`admin.rule.op.${k}`), type: "number",
      value: num(cur), min, max, step: "any", required: true })),
    { name: "reason", label: t("f.reason"), type: "textarea", required: true }]);
  if (!v) return;
  const body = { index: th.index, signal: th.signal, reason: v.reason.trim() };
  for (const k of Object.keys(th.current)) body[k] = Number(v[k]);
  const done = await attempt(() => api(`/admin/rules/${encodeURIComponent(r.id)}/threshold`, { method: "PUT", body }));
  if (done) { toast(t("admin.rule.retuned", { v: numbers(Object.fromEntries(Object.keys(th.current).map((k) => [k, body[k]]))) })); await loadRules(); }
}
