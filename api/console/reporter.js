// A door-plate request's reporter on the ticket page: the call-back phone (each look is in the
// access audit, so it is behind a button) and the photos the resident attached.
import { api, attempt, el, fill, picture } from "./common.js";
import { icon } from "./icons.js";
import { t } from "./i18n.js";

/** The block for a resident's request (null for any other ticket). */
export function reporterBlock(tk) {
  if (tk.source !== "resident") return null;
  const box = el("div", { class: "reporter", dataset: { reporter: tk.id } });
  const show = async () => {
    const r = await attempt(() => api(`/plates/requests/${tk.id}`));
    if (!r) { fill(box, el("span", { class: "note" }, t("reporter.none"))); return; }
    const tel = r.phone ? el("a", { href: `tel:${r.phone.replace(/[^0-9+]/g, "")}` }, icon("phone"), " ", r.phone) : t("reporter.nophone");
    const pics = el("div", { class: "photos" });
    fill(box, el("dl", { class: "kv" },
      el("dt", {}, t("reporter.plate")), el("dd", {}, `${r.label} · ${r.plate}`),
      el("dt", {}, t("reporter.phone")), el("dd", {}, tel)), pics);
    for (const id of r.photos) {
      const src = await picture(`/plates/photos/${id}`);
      if (src) pics.append(el("a", { href: src, target: "_blank", rel: "noopener" }, el("img", { src, alt: t("reporter.photo"), class: "thumb" })));
    }
  };
  box.append(el("h2", {}, t("reporter.title")),
    el("button", { type: "button", dataset: { act: "reporter" }, title: t("ticket.contact.audit"), onclick: show }, icon("phone"), " ", t("reporter.show")));
  return box;
}
