// zh-CN is the default (the users' own language); English is one click away. The words
// live in lang-zh.js / lang-en.js (same keys; a test checks they match).
import { EN } from "./lang-en.js";
import { ZH } from "./lang-zh.js";

const DICT = { zh: ZH, en: EN };

let lang = localStorage.getItem("scgw.lang") === "en" ? "en" : "zh";

export function getLang() { return lang; }

/** The locale for Intl formatting in the chosen language. */
export function locale() { return lang === "zh" ? "zh-CN" : "en-GB"; }

export function setLang(next) {
  lang = next === "en" ? "en" : "zh";
  localStorage.setItem("scgw.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  applyI18n();
}

/** Translate `key`, filling `{name}` placeholders; unknown keys show as themselves. */
export function t(key, vars = {}) {
  const text = DICT[lang][key] ?? DICT.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

/** Learn names the server sends (`/console/config` names: "cat.sos" → [zh, en]); a page's
 * own wording stays where it has one. */
export function learnNames(names = {}) {
  for (const [key, [zh, en]] of Object.entries(names)) {
    DICT.zh[key] ??= zh;
    DICT.en[key] ??= en;
  }
}

/** Pick the text of the chosen language from a (zh, en) pair the server sent. */
export function pick(zh, en) { return (lang === "en" ? en || zh : zh || en) || ""; }

/** Fill every element carrying data-i18n (text), data-i18n-placeholder or data-i18n-title. */
export function applyI18n(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
}
