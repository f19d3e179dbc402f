// What a grid worker needs to act on a ticket, shared by the grid page and the ticket page:
// where to go (place in words, a route hint from the nearest gate, the place marked on the
// site map) and whom to call (the resident's phone and emergency contact; each view audited).
import { api, attempt, el, fill } from "./common.js";
import { icon } from "./icons.js";
import { pick, t } from "./i18n.js";
import { SiteMap } from "./sitemap.js";

/** Place name, route hint and a small map with the place marked. */
export function placeBlock(place, sitemap) {
  if (!place) return el("div", { class: "note", dataset: { place: "none" } }, t("ticket.nomap"));
  const svg = el("svg", { class: "map mini", role: "img", "aria-label": pick(place.name_zh, place.name_en) });
  const block = el("div", { class: "place", dataset: { place: place.poi || place.building || place.gate || "site" } },
    el("div", {}, icon("pin"), " ", el("b", { class: "place-name" }, pick(place.name_zh, place.name_en))),
    place.hint_zh ? el("div", { class: "route-hint" }, icon("route"), " ", `${t("grid.route")}：${pick(place.hint_zh, place.hint_en)}`) : null,
    svg);
  if (sitemap) {
    const map = new SiteMap(svg, sitemap);
    map.highlight(place);
    map.fitPlace(place);
  }
  return block;
}

/** A "show phone" button that reveals the resident's phone and emergency contact. */
export function contactBlock(tk) {
  if (!tk.resident_id) return null;
  const box = el("div", { class: "contact", dataset: { contact: tk.id } });
  const show = async () => {
    const c = await attempt(() => api(`/tickets/${tk.id}/contact`));
    if (!c) { fill(box, el("span", { class: "note" }, t("ticket.contact.none"))); return; }
    const tel = (n) => (n ? el("a", { href: `tel:${n.replace(/[^0-9+]/g, "")}` }, icon("phone"), " ", n) : "—");
    fill(box, el("dl", { class: "kv" },
      el("dt", {}, t("ticket.contact.phone")), el("dd", {}, `${c.resident_name} `, tel(c.phone)),
      el("dt", {}, t("ticket.contact.emergency")),
      el("dd", {}, [c.contact_name, c.contact_relation && `（${c.contact_relation}）`].filter(Boolean).join(""), " ", tel(c.contact_phone))));
  };
  box.append(el("button", { type: "button", dataset: { act: "contact" }, title: t("ticket.contact.audit"), onclick: show }, icon("phone"), " ", t("ticket.contact.show")));
  return box;
}
