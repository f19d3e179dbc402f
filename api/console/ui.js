// Building blocks every page uses: elements, time formatting in the site's time zone and the
// locale's full date format, the server's clock, toasts and modal forms.
import { getLang, locale, t } from "./i18n.js";

let timezone = "Asia/Shanghai";
let clockOffset = 0;  // server clock minus this browser's, seconds

export function setTimezone(tz) { if (tz) timezone = tz; }

/** Follow the gateway's clock (countdowns and SLA time left are computed as it would). */
export function setServerClock(now) { clockOffset = now - Date.now() / 1000; }

/** A server timestamp just seen (an event, an answer): the server's clock is at least there. */
export function sawServerTime(ts) { if (ts && ts > serverNow()) setServerClock(ts); }

/** The gateway's time now, in epoch seconds. */
export function serverNow() { return Date.now() / 1000 + clockOffset; }

/** Build an element: el("div", {class: "x", onclick: f}, child, "text", …). */
export function el(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "path", "polygon", "polyline", "circle", "text", "line", "rect", "title"];
  const node = svg.includes(tag) ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** Replace a node's children, skipping null/false and flattening arrays (replaceChildren
 * would print "null"). */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** A time (12:03:05), or with `withDate` the locale's full date (2026年11月21日 12:03:05 /
 * 21 Nov 2026, 12:03:05) — never an ambiguous 12/05. */
export function fmtTime(ts, withDate = false) {
  if (ts === null || ts === undefined) return "—";
  const opts = withDate ? { dateStyle: "medium", timeStyle: "medium" } : { timeStyle: "medium" };
  return new Intl.DateTimeFormat(locale(), { timeZone: timezone, hourCycle: "h23", ...opts }).format(new Date(ts * 1000));
}

/** The locale's full date alone (2026年11月21日 / 21 Nov 2026). */
export function fmtDate(ts) {
  return new Intl.DateTimeFormat(locale(), { timeZone: timezone, dateStyle: "medium" }).format(new Date(ts * 1000));
}

/** A countdown: 4:05, 1:02:03. */
export function fmtClock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

/** A span of time in words: 45 秒, 12 分钟, 2 小时 5 分, 3 天 2 小时. */
export function fmtSpan(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const zh = getLang() === "zh";
  if (s < 60) return zh ? `${s} 秒` : `${s} s`;
  if (s < 3600) return zh ? `${Math.floor(s / 60)} 分钟` : `${Math.floor(s / 60)} min`;
  if (s < 86400) {
    const h = Math.floor(s / 3600); const m = Math.floor((s % 3600) / 60);
    return zh ? `${h} 小时${m ? ` ${m} 分` : ""}` : `${h} h${m ? ` ${m} min` : ""}`;
  }
  const d = Math.floor(s / 86400); const h = Math.floor((s % 86400) / 3600);
  return zh ? `${d} 天${h ? ` ${h} 小时` : ""}` : `${d} d${h ? ` ${h} h` : ""}`;
}

export function ago(ts, now) {
  const s = Math.max(0, Math.round(now - ts));
  if (s < 60) return t("ago.s", { n: s });
  if (s < 3600) return t("ago.m", { n: Math.floor(s / 60) });
  if (s < 86400) return t("ago.h", { n: Math.floor(s / 3600) });
  return t("ago.d", { n: Math.floor(s / 86400) });
}

/** Epoch seconds of midnight, in the site's time zone, of the day holding `ts`. */
export function midnight(ts) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone: timezone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ts * 1000)).map((p) => [p.type, Number(p.value)]));
  const wall = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
  const offset = Math.round((wall - Math.floor(ts) * 1000) / 60000) * 60000;
  return (Date.UTC(parts.year, parts.month - 1, parts.day) - offset) / 1000;
}

export function toast(text, kind = "info", action = null) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: `toast ${kind}`, role: "status" }, text,
    action ? el("button", { type: "button", onclick: () => { item.remove(); action.run(); } }, action.label) : null);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" || kind === "alarm" ? 8000 : 4000);
  return item;
}

/** Run an action; show its error as a toast instead of failing silently. */
export async function attempt(fn) {
  try { return await fn(); }
  catch (err) {
    if (!err.sessionEnded) toast(t("err.generic", { msg: err.message }), "error");  // already said
    return undefined;
  }
}

function field(f) {
  if (f.type === "select") {
    const option = ([v, label]) => el("option", { value: v, selected: v === f.value }, label);
    const children = f.groups
      ? f.groups.filter(([, opts]) => opts.length).map(([label, opts]) => el("optgroup", { label }, opts.map(option)))
      : f.options.map(option);
    return el("select", { name: f.name, required: f.required }, children);
  }
  if (f.type === "textarea") return el("textarea", { name: f.name, rows: 3, required: f.required }, f.value ?? "");
  return el("input", { name: f.name, type: f.type || "text", value: f.value ?? "", required: f.required,
    min: f.min, max: f.max, step: f.step, minlength: f.minlength, list: f.list ? `${f.name}-list` : null });
}

/**
 * A modal form. fields: [{name, label, type: text|textarea|select|number|info, options:
 * [[value, label]] or groups: [[group label, options]], value, required}]. `info` shows
 * `value` as text (e.g. the worker's report when closing). Resolves to the values, or null.
 */
export function askForm(title, fields) {
  const dialog = document.getElementById("form-dialog");
  const form = el("form", { method: "dialog", class: "form" }, el("h3", {}, title));
  for (const f of fields) {
    if (f.type === "info") {
      form.append(el("div", { class: "info", dataset: { info: f.name } }, el("span", { class: "note" }, f.label), el("p", {}, f.value || "—")));
      continue;
    }
    form.append(el("label", {}, el("span", {}, f.label), field(f)));
  }
  form.append(el("div", { class: "buttons" },
    el("button", { type: "submit", value: "cancel", formnovalidate: true, class: "secondary" }, t("act.cancel")),
    el("button", { type: "submit", value: "ok", class: "primary" }, t("act.ok"))));
  dialog.replaceChildren(form);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (dialog.returnValue !== "ok") return resolve(null);
      resolve(Object.fromEntries(new FormData(form).entries()));
    }, { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}
