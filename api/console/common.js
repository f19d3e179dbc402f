// Shared by the three pages: session, REST calls, the live socket, forms, formatting.
import { applyI18n, getLang, setLang, t } from "./i18n.js";

const TOKEN_KEY = "scgw.token";
let timezone = "Asia/Shanghai";

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

export function setTimezone(tz) { if (tz) timezone = tz; }

/** JSON call with the bearer token; a 401 sends the user back to the login form. */
export async function api(path, { method = "GET", body, form } = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (form) { payload = new URLSearchParams(form); }
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const resp = await fetch(path, { method, headers, body: payload });
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? data);
    if (resp.status === 401 && token && !form) {
      sessionStorage.removeItem(TOKEN_KEY);
      toast(t("err.session"), "error");
      showLogin();
    }
    throw new ApiError(resp.status, detail);
  }
  return data;
}

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

export function fmtTime(ts, withDate = false) {
  if (ts === null || ts === undefined) return "—";
  const opts = { timeZone: timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
  if (withDate) Object.assign(opts, { month: "2-digit", day: "2-digit" });
  return new Intl.DateTimeFormat(getLang() === "zh" ? "zh-CN" : "en-GB", opts).format(new Date(ts * 1000));
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

export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: `toast ${kind}`, role: "status" }, text);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

/** Run an action; show its error as a toast instead of failing silently. */
export async function attempt(fn) {
  try { return await fn(); }
  catch (err) { toast(t("err.generic", { msg: err.message }), "error"); return undefined; }
}

/**
 * A modal form. fields: [{name, label, type: text|textarea|select|number, options: [[value,
 * label]], value, required, list: [suggestions]}]. Resolves to the values, or null on cancel.
 */
export function askForm(title, fields) {
  const dialog = document.getElementById("form-dialog");
  const form = el("form", { method: "dialog", class: "form" }, el("h3", {}, title));
  for (const f of fields) {
    let input;
    if (f.type === "select") {
      input = el("select", { name: f.name },
        f.options.map(([v, label]) => el("option", { value: v, selected: v === f.value }, label)));
    } else if (f.type === "textarea") {
      input = el("textarea", { name: f.name, rows: 3, required: f.required }, f.value ?? "");
    } else {
      input = el("input", { name: f.name, type: f.type || "text", value: f.value ?? "",
        required: f.required, min: f.min, max: f.max, list: f.list ? `${f.name}-list` : null });
    }
    form.append(el("label", {}, el("span", {}, f.label), input));
    if (f.list) form.append(el("datalist", { id: `${f.name}-list` }, f.list.map(([v, l]) => el("option", { value: v }, l))));
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

let audio = null;

/** Create the audio context inside a user gesture (browsers refuse sound before one). */
export function unlockAudio() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch { audio = null; }
}

/** Two short 880 Hz beeps, synthesised: no audio file to fetch. */
export function beep() {
  unlockAudio();
  if (!audio) return;
  for (const start of [0, 0.25]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime + start);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + 0.18);
    osc.connect(gain).connect(audio.destination);
    osc.start(audio.currentTime + start);
    osc.stop(audio.currentTime + start + 0.2);
  }
  document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
}

/** The WebSocket stream; reconnects with backoff and tells the page to resync. */
export function connectLive(onEvent, onReconnect) {
  let delay = 1000;
  let first = true;
  const open = () => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token)}`);
    ws.onmessage = (msg) => {
      const event = JSON.parse(msg.data);
      if (event.type === "hello") {
        setLive(true);
        delay = 1000;
        if (!first) onReconnect?.();  // events may have been missed while away
        first = false;
        return;
      }
      onEvent(event);
    };
    ws.onclose = () => {
      setLive(false);
      if (!sessionStorage.getItem(TOKEN_KEY)) return;
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    };
  };
  open();
}

function setLive(on) {
  document.body.dataset.live = on ? "on" : "off";
  const badge = document.getElementById("live");
  if (badge) { badge.textContent = t(on ? "live.on" : "live.off"); badge.className = on ? "live on" : "live off"; }
}

let loginResolve = null;

export function showLogin() {
  document.getElementById("app").hidden = true;
  document.getElementById("login").hidden = false;
  document.querySelector("#login input[name=username]")?.focus();
}

/**
 * Resolve to the signed-in account: from the stored token, else after the login form.
 * `roles` are the roles this page serves; `redirect` maps other roles to their page.
 */
export async function session(roles, redirect = {}) {
  wireChrome();
  const loginForm = document.querySelector("#login form");
  loginForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    unlockAudio();
    const data = new FormData(loginForm);
    const error = document.getElementById("login-error");
    error.textContent = "";
    try {
      const tok = await api("/auth/token", { method: "POST", form: data });
      sessionStorage.setItem(TOKEN_KEY, tok.access_token);
      if (!loginResolve) { location.reload(); return; }  // signed in again after expiry: resync
      const me = await whoami(roles, redirect);
      const resolve = loginResolve;
      loginResolve = null;
      resolve(me);
    } catch (err) {
      error.textContent = err.status === 403 ? err.message
        : t(err.status === 429 ? "login.throttled" : "login.failed");
    }
  });
  if (sessionStorage.getItem(TOKEN_KEY)) {
    try { return await whoami(roles, redirect); } catch { sessionStorage.removeItem(TOKEN_KEY); }
  }
  showLogin();
  return new Promise((resolve) => { loginResolve = resolve; });
}

async function whoami(roles, redirect) {
  const me = await api("/auth/me");
  if (!roles.includes(me.role) && redirect[me.role]) {
    location.assign(redirect[me.role] + location.search);
    return new Promise(() => {});  // the page is going away
  }
  if (!roles.includes(me.role)) {  // e.g. a vendor account: no page of ours is for it
    sessionStorage.removeItem(TOKEN_KEY);
    throw new ApiError(403, t("login.wrongrole"));
  }
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
  const who = document.getElementById("who");
  if (who) who.textContent = me.display_name || me.username;
  return me;
}

let chromeWired = false;

function wireChrome() {
  if (chromeWired) return;
  chromeWired = true;
  setLang(getLang());
  document.querySelectorAll("[data-action=lang]").forEach((b) => b.addEventListener("click", () => {
    setLang(getLang() === "zh" ? "en" : "zh");
    document.dispatchEvent(new CustomEvent("scgw:lang"));
  }));
  document.querySelectorAll("[data-action=logout]").forEach((b) => b.addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload();
  }));
  applyI18n();
}
