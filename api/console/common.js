// What every page imports: the session (api, live socket), UI building blocks, sounds, and
// the page chrome (language switch, sign-out).
import { applyI18n, getLang, learnNames, setLang, t } from "./i18n.js";
import { api, logout, session as signIn } from "./session.js";
import { askForm, attempt, setServerClock, setTimezone, toast } from "./ui.js";

export { ApiError, accessToken, api, connectLive, logout, picture, refresh } from "./session.js";
export { beep, chime, unlockAudio } from "./sound.js";
export {
  ago, askForm, attempt, el, fill, fmtClock, fmtDate, fmtSpan, fmtTime, midnight, sawServerTime,
  serverNow, setServerClock, setTimezone, toast,
} from "./ui.js";

let chromeWired = false;

function wireChrome() {
  if (chromeWired) return;
  chromeWired = true;
  setLang(getLang());
  document.querySelectorAll("[data-action=lang]").forEach((b) => b.addEventListener("click", () => {
    setLang(getLang() === "zh" ? "en" : "zh");
    document.dispatchEvent(new CustomEvent("scgw:lang"));
  }));
  document.querySelectorAll("[data-action=logout]").forEach((b) => b.addEventListener("click", logout));
  document.querySelectorAll("[data-action=password]").forEach((b) => b.addEventListener("click", changePassword));
  applyI18n();
}

/** A new password; the server ends every other session of the account (a lost phone). */
async function changePassword() {
  const v = await askForm(t("act.password"), [
    { name: "current_password", label: t("f.current_password"), type: "password", required: true },
    { name: "new_password", label: t("f.new_password"), type: "password", required: true, minlength: 8 }]);
  if (!v) return;
  const done = await attempt(() => api("/auth/password", { method: "POST", body: v }).then(() => true));
  if (done) toast(t("password.changed"));
}

/** Wire the page chrome, then resolve to the signed-in account (see session.js). */
export function session(roles, redirect = {}) {
  wireChrome();
  return signIn(roles, redirect);
}

/** The gateway's clock and settings the pages need (re-read now and then: clocks drift). */
export async function syncClock(api) {
  const config = await api("/console/config");
  setServerClock(config.now);
  learnNames(config.names);
  return config;
}

/** Site map and its time zone (null when none is configured). */
export async function loadSitemap(api) {
  const map = await api("/sitemap").catch(() => null);
  setTimezone(map?.site?.timezone);
  return map;
}
