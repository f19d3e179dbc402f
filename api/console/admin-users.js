// Accounts: create, change role / grid / name, reset a password, disable and enable.
import { api, askForm, attempt, el, toast } from "./common.js";
import { t } from "./i18n.js";
import { A, confirmed, options, showOnce, table } from "./admin.js";

const $ = (id) => document.getElementById(id);

function roleField(value) {
  return { name: "role", label: t("admin.user.role"), type: "select", required: true, value,
    options: A.options.roles.map((r) => [r, t(`role.${r}`)]) };
}

export async function loadUsers() {
  const role = $("users-role").value;
  const users = await api(`/users${role ? `?role=${role}` : ""}`);
  table($("users-table"), [t("admin.user.username"), t("admin.user.name"), t("admin.user.role"),
    t("admin.user.where"), t("admin.user.state"), ""], users.map((u) => ({
    data: { user: u.username },
    cells: [u.username, u.display_name || "—", t(`role.${u.role}`), u.grid || u.vendor || "—",
      el("span", { class: u.disabled ? "badge warn" : "badge ok" }, t(u.disabled ? "admin.disabled" : "admin.enabled")),
      el("div", { class: "actions" },
        el("button", { type: "button", dataset: { act: "edit" }, onclick: () => edit(u) }, t("admin.user.edit")),
        el("button", { type: "button", dataset: { act: "password" }, onclick: () => resetPassword(u) }, t("admin.user.reset")),
        el("button", { type: "button", class: u.disabled ? "" : "danger", dataset: { act: u.disabled ? "enable" : "disable" },
          onclick: () => toggle(u) }, t(u.disabled ? "admin.enable" : "admin.disable")))],
  })));
}

async function create() {
  const v = await askForm(t("admin.user.new"), [
    { name: "username", label: t("admin.user.username"), required: true },
    { name: "display_name", label: t("admin.user.name") },
    roleField("operator"),
    { name: "grid", label: t("admin.user.grid"), list: true },
    { name: "vendor", label: t("admin.user.vendor") },
    { name: "password", label: t("admin.user.password"), type: "password", minlength: 8 }]);
  if (!v) return;
  const body = { username: v.username.trim(), role: v.role, display_name: v.display_name.trim(),
    grid: v.grid.trim() || null, vendor: v.vendor.trim() || null, password: v.password || null };
  const made = await attempt(() => api("/users", { method: "POST", body }));
  if (!made) return;
  if (made.password) await showOnce(t("admin.user.created", { name: made.username }), t("admin.user.temp"), made.password);
  else toast(t("admin.user.created", { name: made.username }));
  await loadUsers();
}

async function edit(u) {
  const v = await askForm(t("admin.user.edit.title", { name: u.username }), [
    { name: "display_name", label: t("admin.user.name"), value: u.display_name },
    roleField(u.role),
    { name: "grid", label: t("admin.user.grid"), value: u.grid || "", list: true },
    { name: "vendor", label: t("admin.user.vendor"), value: u.vendor || "" }]);
  if (!v) return;
  const done = await attempt(() => api(`/users/${encodeURIComponent(u.username)}`, { method: "PATCH",
    body: { role: v.role, display_name: v.display_name.trim(), grid: v.grid.trim() || null, vendor: v.vendor.trim() || null } }));
  if (done) { toast(t("admin.saved")); await loadUsers(); }
}

async function resetPassword(u) {
  const v = await askForm(t("admin.user.reset.title", { name: u.username }), [
    { name: "password", label: t("admin.user.password"), type: "password", minlength: 8 }]);
  if (!v) return;
  const done = await attempt(() => api(`/users/${encodeURIComponent(u.username)}/password`, { method: "POST", body: { password: v.password || null } }));
  if (!done) return;
  if (done.password) await showOnce(t("admin.user.reset.title", { name: u.username }), t("admin.user.temp"), done.password);
  else toast(t("admin.user.reset.done"));
}

async function toggle(u) {
  const action = u.disabled ? "enable" : "disable";
  if (!u.disabled && !(await confirmed(t("admin.disable"), t("admin.user.disable.why", { name: u.username })))) return;
  const done = await attempt(() => api(`/users/${encodeURIComponent(u.username)}/${action}`, { method: "POST" }));
  if (done) await loadUsers();
}

export function wireUsers() {
  const roles = $("users-role");
  roles.replaceChildren(...options(A.options.roles, (r) => t(`role.${r}`), t("admin.all")));
  roles.addEventListener("change", loadUsers);
  $("user-new").addEventListener("click", create);
}
