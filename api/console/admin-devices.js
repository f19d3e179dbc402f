// Devices (register, bind to a place and a resident, disable / enable, rotate the broker
// password) through the same device-administration service as the API and the CLI; and the
// door plates (see a plate's QR code, give a plate a new one).
import { api, askForm, attempt, el, fill, fmtTime, picture, toast } from "./common.js";
import { t } from "./i18n.js";
import { A, confirmed, kindName, options, showOnce, table } from "./admin.js";

const $ = (id) => document.getElementById(id);
const STATUSES = ["active", "pending", "disabled"];

function residentName(id) {
  return A.residents.find((r) => r.id === id)?.name || id;
}

export async function loadDevices() {
  const q = new URLSearchParams();
  if ($("devices-search").value.trim()) q.set("search", $("devices-search").value.trim());
  if ($("devices-kind").value) q.set("kind", $("devices-kind").value);
  if ($("devices-status").value) q.set("status", $("devices-status").value);
  const devices = await api(`/admin/devices?${q}`);
  $("devices-note").textContent = A.options.provisioning ? t("admin.dev.prov.on") : t("admin.dev.prov.off");
  table($("devices-table"), [t("dev.id"), t("dev.kind"), t("admin.dev.vendor"), t("dev.place"), t("dev.grid"),
    t("dev.resident"), t("admin.user.state"), ""], devices.map((d) => ({
    data: { device: d.id },
    cells: [d.id, kindName(d.kind), [d.vendor, d.model].filter(Boolean).join(" ") || "—",
      [d.site, d.building && `${d.building}号楼`, d.unit && `${d.unit}单元`].filter(Boolean).join(" ") || "—",
      d.grid || "—", d.resident_id ? `${residentName(d.resident_id)}（${d.resident_id}）` : "—",
      el("span", { class: d.status === "active" ? "badge ok" : "badge warn", dataset: { status: d.status } }, t(`admin.dev.status.${d.status}`)),
      el("div", { class: "actions" },
        el("button", { type: "button", dataset: { act: "bind" }, onclick: () => bind(d) }, t("admin.dev.bind")),
        el("button", { type: "button", class: d.status === "disabled" ? "" : "danger", dataset: { act: d.status === "disabled" ? "enable" : "disable" },
          onclick: () => toggle(d) }, t(d.status === "disabled" ? "admin.enable" : "admin.disable")),
        el("button", { type: "button", dataset: { act: "rotate" }, onclick: () => rotate(d) }, t("admin.dev.rotate")))],
  })));
}

const bindingFields = (d = {}) => [
  { name: "site", label: t("admin.dev.site"), value: d.site || A.options.sites[0] || "", list: true },
  { name: "building", label: t("admin.dev.building"), value: d.building || "" },
  { name: "unit", label: t("admin.dev.unit"), value: d.unit || "" },
  { name: "grid", label: t("dev.grid"), value: d.grid || "", list: true },
  { name: "resident_id", label: t("admin.dev.resident"), value: d.resident_id || "", list: true }];

function binding(v) {
  return { site: v.site.trim(), building: v.building.trim(), unit: v.unit.trim(), grid: v.grid.trim(),
    resident_id: v.resident_id.trim() || null };
}

async function register() {
  const v = await askForm(t("admin.dev.new"), [
    { name: "id", label: t("dev.id"), required: true },
    { name: "kind", label: t("dev.kind"), type: "select", required: true, value: "wristband",
      options: A.options.kinds.map((k) => [k, kindName(k)]) },
    { name: "vendor", label: t("admin.dev.vendor") },
    { name: "model", label: t("admin.dev.model") },
    ...bindingFields()]);
  if (!v) return;
  const body = { id: v.id.trim(), kind: v.kind, vendor: v.vendor.trim(), model: v.model.trim(), ...binding(v) };
  const made = await attempt(() => api("/devices", { method: "POST", body }));
  if (!made) return;
  if (made.mqtt_password) await showOnce(t("admin.dev.created", { id: made.id }), t("admin.dev.secret", { user: made.mqtt_username }), made.mqtt_password);
  else toast(t("admin.dev.created", { id: made.id }));
  await loadDevices();
}

async function bind(d) {
  const v = await askForm(t("admin.dev.bind.title", { id: d.id }), bindingFields(d));
  if (!v) return;
  const done = await attempt(() => api(`/devices/${encodeURIComponent(d.id)}/binding`, { method: "PUT", body: binding(v) }));
  if (done) { toast(t("admin.saved")); await loadDevices(); }
}

async function toggle(d) {
  const action = d.status === "disabled" ? "enable" : "disable";
  if (action === "disable" && !(await confirmed(t("admin.disable"), t("admin.dev.disable.why", { id: d.id })))) return;
  const done = await attempt(() => api(`/devices/${encodeURIComponent(d.id)}/${action}`, { method: "POST" }));
  if (done) await loadDevices();
}

async function rotate(d) {
  if (!(await confirmed(t("admin.dev.rotate"), t("admin.dev.rotate.why", { id: d.id })))) return;
  const done = await attempt(() => api(`/devices/${encodeURIComponent(d.id)}/credentials`, { method: "POST" }));
  if (done) await showOnce(t("admin.dev.rotate"), t("admin.dev.secret", { user: done.mqtt_username }), done.mqtt_password);
}

export function wireDevices() {
  $("devices-kind").replaceChildren(...options(A.options.kinds, kindName, t("kind.all")));
  $("devices-status").replaceChildren(...options(STATUSES, (s) => t(`admin.dev.status.${s}`), t("admin.all")));
  let timer = null;
  $("devices-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(loadDevices, 250); });
  $("devices-kind").addEventListener("change", loadDevices);
  $("devices-status").addEventListener("change", loadDevices);
  $("device-new").addEventListener("click", register);
}

// -- door plates -------------------------------------------------------------------------

export async function loadPlates() {
  const q = new URLSearchParams();
  if ($("plates-site").value) q.set("site", $("plates-site").value);
  if ($("plates-search").value.trim()) q.set("search", $("plates-search").value.trim());
  const plates = await api(`/plates?${q}`);
  table($("plates-table"), [t("admin.plate.code"), t("admin.plate.unit"), t("dev.grid"), t("admin.plate.version"), ""],
    plates.map((p) => ({ data: { plate: p.code }, cells: [p.code, p.label, p.grid || "—",
      p.version ? `${t("admin.plate.v", { n: p.version })} · ${fmtTime(p.issued_at, true)}` : t("admin.plate.never"),
      el("div", { class: "actions" },
        el("button", { type: "button", dataset: { act: "qr" }, onclick: () => showQr(p) }, t("admin.plate.qr")),
        el("button", { type: "button", class: "danger", dataset: { act: "rotate" }, onclick: () => rotatePlate(p) }, t("admin.plate.rotate")))] })));
}

async function showQr(p) {
  const src = await picture(`/plates/${encodeURIComponent(p.code)}/qr.png`);
  if (!src) { toast(t("err.generic", { msg: "QR" }), "error"); return; }
  const dialog = document.getElementById("form-dialog");
  fill(dialog, el("form", { method: "dialog", class: "form" }, el("h3", {}, `${p.label} · ${p.code}`),
    el("img", { src, alt: p.code, class: "qr" }), el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary" }, t("act.ok")))));
  dialog.showModal();
  await loadPlates();  // showing a never-printed plate's code issued its first link
}

async function rotatePlate(p) {
  if (!(await confirmed(t("admin.plate.rotate"), t("admin.plate.rotate.why", { label: p.label })))) return;
  const done = await attempt(() => api(`/plates/${encodeURIComponent(p.code)}/rotate`, { method: "POST" }));
  if (done) { toast(t("admin.plate.rotated", { n: done.version })); await loadPlates(); }
}

export function wirePlates() {
  $("plates-site").replaceChildren(...options(A.options.sites, (s) => s, t("admin.all")));
  $("plates-site").addEventListener("change", loadPlates);
  let timer = null;
  $("plates-search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(loadPlates, 250); });
}
