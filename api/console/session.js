// The sign-in session every page shares: a short-lived access token in this tab
// (sessionStorage), renewed silently from the httpOnly refresh cookie — before it expires, on a
// 401, when a new tab opens, when the live socket says the token is gone. Only when the session
// itself has ended (logout, idle or shift limit, password change, account disabled) does the
// login form come back.
import { t } from "./i18n.js";
import { toast } from "./ui.js";
import { unlockAudio } from "./sound.js";

const TOKEN_KEY = "scgw.token";
let refreshing = null;
let renewTimer = null;
let loginResolve = null;
let me = null;

export class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

/** The session is over: whatever was being loaded stops; the login form is already shown. */
export class SessionEnded extends ApiError {
  constructor() { super(401, t("err.session")); this.sessionEnded = true; }
}

// Work in flight when the session ended (a poll, a click) has nothing left to do or report.
window.addEventListener("unhandledrejection", (ev) => { if (ev.reason?.sessionEnded) ev.preventDefault(); });

export function accessToken() { return sessionStorage.getItem(TOKEN_KEY); }

function keep(tok) {
  sessionStorage.setItem(TOKEN_KEY, tok.access_token);
  clearTimeout(renewTimer);
  // Renew at 80 % of the token's life; a sleeping laptop that misses it renews on the 401.
  renewTimer = setTimeout(refresh, Math.max(30, tok.expires_in * 0.8) * 1000);
}

/**
 * A new access token from the refresh cookie (one request at a time). Resolves to "ok",
 * "ended" (the server says the session is over) or "offline" (no answer: try again later).
 */
export function refresh() {
  if (!refreshing) {
    refreshing = fetch("/auth/refresh", { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(async (resp) => {
        if (resp.status === 401) {
          const data = await resp.json().catch(() => ({}));
          document.body.dataset.sessionEnd = String(data.detail || resp.status);
          return "ended";
        }
        if (!resp.ok) return "offline";
        keep(await resp.json());
        document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
        return "ok";
      })
      .catch(() => "offline")
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** The session ended: say so and ask for the password again. */
function ended() {
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(renewTimer);
  document.body.dataset.session = "ended";
  toast(t("err.session"), "error");
  showLogin();
}

/** JSON call with the bearer token; a 401 renews the token once, then asks for a login. */
/** `withHeaders`: answer [data, response headers] (e.g. the board's X-Board-Totals). */
export async function api(path, { method = "GET", body, form, withHeaders = false } = {}) {
  const send = () => {
    const headers = { Accept: "application/json" };
    const token = accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (form) { payload = new URLSearchParams(form); }
    else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
    return fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  };
  const hadToken = Boolean(accessToken());
  let resp = await send();
  if (resp.status === 401 && hadToken && !form) {
    const renewed = await refresh();
    if (renewed === "ok") resp = await send();
    else if (renewed === "ended") { ended(); throw new SessionEnded(); }
  }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail ?? data);
    if (resp.status === 401 && hadToken && !form) { ended(); throw new SessionEnded(); }
    throw new ApiError(resp.status, detail);
  }
  return withHeaders ? [data, resp.headers] : data;
}

/** An image the API serves behind the token, as a data: URL (the pages' CSP allows no blob:
 * images); null when it cannot be had. */
export async function picture(path) {
  const resp = await fetch(path, { headers: { Authorization: `Bearer ${accessToken()}` } });
  if (!resp.ok) return null;
  const blob = await resp.blob();
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(blob);
  });
}

export function showLogin() {
  document.getElementById("app").hidden = true;
  document.getElementById("login").hidden = false;
  document.querySelector("#login input[name=username]")?.focus();
}

/**
 * Resolve to the signed-in account: from this tab's token, else the session cookie, else after
 * the login form. `roles` are the roles this page serves; `redirect` maps others to their page.
 */
export async function session(roles, redirect = {}) {
  const loginForm = document.querySelector("#login form");
  loginForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    unlockAudio();
    const data = new FormData(loginForm);
    const error = document.getElementById("login-error");
    error.textContent = "";
    try {
      keep(await api("/auth/token", { method: "POST", form: data }));
      delete document.body.dataset.session;
      if (!loginResolve) { location.reload(); return; }  // signed in again after expiry: resync
      const who = await whoami(roles, redirect);
      const resolve = loginResolve;
      loginResolve = null;
      resolve(who);
    } catch (err) {
      error.textContent = err.status === 403 ? err.message
        : t(err.status === 429 ? "login.throttled" : "login.failed");
    }
  });
  document.addEventListener("scgw:lang", showWho);
  if (accessToken() || (await refresh()) === "ok") {
    try { return await whoami(roles, redirect); } catch { sessionStorage.removeItem(TOKEN_KEY); }
  }
  showLogin();
  return new Promise((resolve) => { loginResolve = resolve; });
}

async function whoami(roles, redirect) {
  const found = await api("/auth/me");
  if (!roles.includes(found.role) && redirect[found.role]) {
    location.assign(redirect[found.role] + location.search);
    return new Promise(() => {});  // the page is going away
  }
  if (!roles.includes(found.role)) {  // e.g. a vendor account: no page of ours is for it
    sessionStorage.removeItem(TOKEN_KEY);
    throw new ApiError(403, t("login.wrongrole"));
  }
  me = found;
  document.getElementById("login").hidden = true;
  document.getElementById("app").hidden = false;
  showWho();
  return found;
}

/** "值班员 · operator" / "网格员 · 王芳": the role in the chosen language, then the person. */
function showWho() {
  const who = document.getElementById("who");
  if (!who || !me) return;
  const role = t(`role.${me.role}`);
  const name = me.display_name && me.display_name !== role && me.display_name !== "值班员" && me.display_name !== "管理员"
    ? me.display_name : me.username;
  who.textContent = `${role} · ${name}`;
}

/** End this browser's session (the cookie goes too) and show the login form. */
export async function logout() {
  await fetch("/auth/logout", { method: "POST", credentials: "same-origin" }).catch(() => null);
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

/**
 * The WebSocket stream; reconnects with backoff and has the page load its data on each hello.
 * The socket outlives access-token renewals. When it closes (the server ended it because the
 * session ended, a restart, a network blip) the token is renewed first: renewed → reopen; the
 * session is over → the login form; no answer → try again with backoff.
 *
 * The page loads its data in `onSync`, called once the socket is subscribed (its hello), so
 * nothing that lands between the load and the subscription is missed (an SOS in that gap was
 * never shown: CI, test_family_day); events pushed during a load are applied on top of it.
 * Returns a promise that settles after the first load. Without a socket after a few seconds
 * (a proxy that blocks WebSockets, a slow start) the page loads anyway and again on hello.
 */
export function connectLive(onEvent, onSync) {
  let delay = 1000;
  let settle;
  const first = new Promise((resolve) => { settle = resolve; });
  let held = null;  // events that arrive while the page loads its data
  const sync = () => {
    const mine = held = [];
    const loading = Promise.resolve().then(onSync);
    // A failed load is the page's error (reported as such); the held events still apply.
    return loading.finally(() => {
      if (held === mine) held = null;
      mine.forEach(onEvent);
      settle();
    });
  };
  const fallback = setTimeout(sync, 5000);
  const reconnect = async () => {
    const renewed = await refresh();
    if (renewed === "ended") { ended(); return; }
    if (renewed === "ok") { open(); return; }
    setTimeout(reconnect, delay);
    delay = Math.min(delay * 2, 30000);
  };
  const open = () => {
    const token = accessToken();
    if (!token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The token travels as a subprotocol, never in the URL (proxies log URLs).
    const ws = new WebSocket(`${scheme}://${location.host}/ws`, ["bearer", token]);
    document.body.dataset.sockets = String(Number(document.body.dataset.sockets || 0) + 1);
    ws.onmessage = (msg) => {
      const event = JSON.parse(msg.data);
      if (event.type === "hello") {
        delay = 1000;
        clearTimeout(fallback);
        // "Live" once the page's data is in: from then on every change arrives pushed.
        sync().finally(() => setLive(true));
        return;
      }
      if (held) held.push(event); else onEvent(event);
    };
    ws.onclose = (ev) => {
      setLive(false);
      if (!accessToken()) return;
      // The session ended on the server: find out at once; otherwise give it a moment.
      setTimeout(reconnect, ev.code === 4401 ? 0 : delay);
    };
  };
  open();
  return first;
}

function setLive(on) {
  document.body.dataset.live = on ? "on" : "off";
  const badge = document.getElementById("live");
  if (badge) {
    badge.dataset.i18n = on ? "live.on" : "live.off";  // re-translated on a language switch
    badge.textContent = t(badge.dataset.i18n);
    badge.className = on ? "live on" : "live off";
  }
}
