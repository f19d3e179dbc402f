// Rules: each with its thresholds as written, on or off (who switched it, when, why), the
// switch with a reason, and the history of every switch.
import { api, askForm, attempt, el, fill, fmtTime, toast } from "./common.js";
import { pick, t } from "./i18n.js";
import { kindName, table } from "./admin.js";

const $ = (id) => document.getElementById(id);

function params(p) {
  return el("span", { class: "params" }, Object.entries(p).map(([k, v]) =>
    el("code", {}, `${k}=${Array.isArray(v) || typeof v === "object" ? JSON.stringify(v) : v}`)));
}

export async function loadRules() {
  const [rules, history] = await Promise.all([api("/admin/rules"), api("/admin/rules/changes?limit=100")]);
  table($("rules-table"), [t("admin.rule.name"), t("dev.kind"), t("admin.rule.severity"), t("admin.rule.condition"),
    t("admin.user.state"), ""], rules.map((r) => ({
    data: { rule: r.id },
    cells: [el("div", {}, el("b", {}, pick(r.name_zh, r.name_en)), el("div", { class: "note" }, r.id)),
      r.kind.split(",").map(kindName).join("、"),
      el("span", { class: `sev ${r.severity}` }, t(`sev.${r.severity}`)),
      el("div", {}, el("div", {}, r.condition), params(r.params)),
      el("div", {}, el("span", { class: r.enabled ? "badge ok" : "badge warn", dataset: { enabled: String(r.enabled) } },
        t(!r.running ? "admin.rule.notrunning" : r.enabled ? "admin.enabled" : "admin.disabled")),
      r.switched_by ? el("div", { class: "note" }, `${r.switched_by} · ${fmtTime(r.switched_at, true)}${r.switch_reason ? ` · ${r.switch_reason}` : ""}`) : null),
      r.running ? el("button", { type: "button", class: r.enabled ? "danger" : "", dataset: { act: r.enabled ? "disable" : "enable" },
        onclick: () => flip(r) }, t(r.enabled ? "admin.disable" : "admin.enable")) : ""],
  })));
  fill($("rules-history"), history.length ? history.map((h) => el("li", { dataset: { rule: h.rule_id } },
    `${fmtTime(h.at, true)} · ${h.actor} · ${t(`admin.rule.${h.change}`)} · ${h.rule_id}${h.reason ? ` · ${h.reason}` : ""}`))
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
