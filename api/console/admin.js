// The admin pages: accounts, devices, rules, the audit logs and the door plates. Admins only;
// every change answers with what it did and lands in the admin audit on the server.
import { api, askForm, el, fill, session, syncClock } from "./common.js";
import { applyI18n, t } from "./i18n.js";
import { loadUsers, wireUsers } from "./admin-users.js";
import { loadDevices, loadPlates, wireDevices, wirePlates } from "./admin-devices.js";
import { loadRules } from "./admin-rules.js";
import { loadAudit, wireAudit } from "./admin-audit.js";

const $ = (id) => document.getElementById(id);
export const A = { options: null, residents: [] };
const LOADERS = { users: loadUsers, devices: loadDevices, rules: loadRules, audit: loadAudit, plates: loadPlates };
let tab = "users";

/** A table: header words and rows of cells; each row may carry data attributes. */
export function table(node, headers, rows, empty = t("admin.none")) {
  fill(node, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows.map((r) => el("tr", { dataset: r.data || {} }, r.cells.map((c) => el("td", {}, c))))
      : el("tr", {}, el("td", { colspan: headers.length, class: "note" }, empty))));
}

/** Show a secret once (a generated password, a device's MQTT password). */
export function showOnce(title, label, secret) {
  return askForm(title, [{ type: "info", name: "secret", label, value: secret }]);
}

/** Ask before a change that cannot be taken back quietly. */
export async function confirmed(title, text) {
  return Boolean(await askForm(title, [{ type: "info", name: "confirm", label: text, value: "" }]));
}

/** A device kind in words (the kind's key when the words do not have it yet). */
export function kindName(k) {
  const word = t(`kind.${k}`);
  return word === `kind.${k}` ? k : word;
}

export function options(values, labels = (v) => v, first = null) {
  return [...(first ? [el("option", { value: "" }, first)] : []), ...values.map((v) => el("option", { value: v }, labels(v)))];
}

function select(name) {
  tab = name;
  document.querySelectorAll("nav.tabs button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  document.querySelectorAll("section.tab").forEach((s) => { s.hidden = s.id !== `tab-${name}`; });
  document.body.dataset.tab = name;
  return LOADERS[name]();
}

async function main() {
  await session(["admin"], { operator: "/", grid_worker: "/grid", family: "/family" });
  await syncClock(api);
  A.options = await api("/admin/options");
  A.residents = await api("/residents").catch(() => []);
  fill($("resident_id-list"), A.residents.map((r) => el("option", { value: r.id }, r.name)));
  fill($("grid-list"), A.options.grids.map((g) => el("option", { value: g })));
  fill($("site-list"), A.options.sites.map((s) => el("option", { value: s })));
  wireUsers();
  wireDevices();
  wirePlates();
  wireAudit();
  document.querySelectorAll("nav.tabs button").forEach((b) => b.addEventListener("click", () => select(b.dataset.tab)));
  document.addEventListener("scgw:lang", () => { applyI18n(); LOADERS[tab](); });
  const wanted = new URLSearchParams(location.search).get("tab");
  await select(LOADERS[wanted] ? wanted : "users");
  document.body.dataset.ready = "1";
}

main();
