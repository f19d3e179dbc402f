// The compound drawn as SVG from its own geometry (no map tiles): metres east/north of an
// anchor, so an accuracy circle of 8 m is simply r=8.
import { el } from "./common.js";

const M_PER_DEG_LAT = 111320;

export class SiteMap {
  /** `data` is the /sitemap document, or null when none is configured. */
  constructor(svg, data) {
    this.svg = svg;
    this.data = data;
    this.anchor = data ? data.anchor : null;
    this.layers = {};
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    for (const name of ["zones", "base", "fixed", "trail", "marks", "alerts", "draft"]) {
      this.layers[name] = el("g", { class: `layer-${name}` });
      svg.append(this.layers[name]);
    }
    if (data) this.drawBase();
  }

  /** [lat, lon] → SVG [x, y] (y grows downwards, so north is up). */
  project([lat, lon]) {
    if (!this.anchor) this.anchor = { lat, lon };
    const mLon = M_PER_DEG_LAT * Math.cos((this.anchor.lat * Math.PI) / 180);
    return [(lon - this.anchor.lon) * mLon, -(lat - this.anchor.lat) * M_PER_DEG_LAT];
  }

  unproject(x, y) {
    const mLon = M_PER_DEG_LAT * Math.cos((this.anchor.lat * Math.PI) / 180);
    return [+(this.anchor.lat - y / M_PER_DEG_LAT).toFixed(7), +(this.anchor.lon + x / mLon).toFixed(7)];
  }

  points(polygon) { return polygon.map((p) => this.project(p).map((v) => v.toFixed(1)).join(",")).join(" "); }

  drawBase() {
    const d = this.data;
    const base = this.layers.base;
    base.append(el("polygon", { class: "boundary", points: this.points(d.boundary) }));
    for (const p of d.pois) {
      base.append(el("polygon", { class: `poi poi-${p.kind}`, points: this.points(p.polygon), dataset: { poi: p.id } }, el("title", {}, p.name)));
      this.label(p.polygon, p.name, "poi-label");
    }
    for (const f of d.fire_lanes) {
      base.append(el("polygon", { class: "fire-lane", points: this.points(f.polygon), dataset: { lane: f.id } }, el("title", {}, f.name)));
    }
    for (const b of d.buildings) {
      base.append(el("polygon", { class: "building", points: this.points(b.polygon), dataset: { building: b.id } }, el("title", {}, b.name)));
      this.label(b.polygon, b.name, "building-label");
    }
    for (const g of d.gates) {
      const [x, y] = this.project(g.at);
      base.append(el("rect", { class: "gate", x: x - 4, y: y - 2, width: 8, height: 4, dataset: { gate: g.id } }, el("title", {}, g.name)));
      base.append(el("text", { class: "gate-label", x, y: y + 9 }, g.name));
    }
    this.zone(d.safe_zone.polygon, "site-zone");
  }

  label(polygon, text, cls) {
    const pts = polygon.map((p) => this.project(p));
    const x = pts.reduce((s, p) => s + p[0], 0) / pts.length;
    const y = pts.reduce((s, p) => s + p[1], 0) / pts.length;
    this.layers.base.append(el("text", { class: cls, x: x.toFixed(1), y: (y + 2).toFixed(1) }, text));
  }

  zone(polygon, cls, title) {
    const node = el("polygon", { class: `zone ${cls}`, points: this.points(polygon) }, title ? el("title", {}, title) : null);
    this.layers.zones.append(node);
    return node;
  }

  /** Where the centre of a building is (devices without a fix are drawn there). */
  buildingCentre(id) {
    const b = this.data?.buildings.find((x) => x.id === id);
    if (!b) return null;
    const lat = b.polygon.reduce((s, p) => s + p[0], 0) / b.polygon.length;
    const lon = b.polygon.reduce((s, p) => s + p[1], 0) / b.polygon.length;
    return [lat, lon];
  }

  /** Fixed position of an installed device, from the site map. */
  fixedAt(deviceId) { return this.data?.devices?.find((d) => d.id === deviceId)?.at ?? null; }

  clear(layer) { this.layers[layer].replaceChildren(); }

  /** Mark a ticket's place (site-map ids from the API: building, place, nearest gate). */
  highlight({ building, poi, gate } = {}) {
    this.svg.querySelectorAll(".target").forEach((n) => n.classList.remove("target"));
    const mark = (sel) => this.svg.querySelector(sel)?.classList.add("target");
    if (building) mark(`.building[data-building="${CSS.escape(building)}"]`);
    if (poi) mark(`.poi[data-poi="${CSS.escape(poi)}"]`);
    if (gate) mark(`.gate[data-gate="${CSS.escape(gate)}"]`);
  }

  /** Zoom to a ticket's place and the gate the route starts from (the worker's view). */
  fitPlace({ building, poi, gate } = {}) {
    const d = this.data;
    if (!d) return;
    const pts = [];
    const b = d.buildings.find((x) => x.id === building);
    const p = d.pois.find((x) => x.id === poi);
    const g = d.gates.find((x) => x.id === gate);
    if (b) pts.push(...b.polygon);
    if (p) pts.push(...p.polygon);
    if (g) pts.push(g.at);
    if (!pts.length) { this.fit(); return; }
    const xy = pts.map((q) => this.project(q));
    const xs = xy.map((q) => q[0]);
    const ys = xy.map((q) => q[1]);
    const pad = 25;
    let [x0, x1, y0, y1] = [Math.min(...xs) - pad, Math.max(...xs) + pad, Math.min(...ys) - pad, Math.max(...ys) + pad];
    const size = Math.max(x1 - x0, y1 - y0, 120);
    const [cx, cy] = [(x0 + x1) / 2, (y0 + y1) / 2];
    [x0, x1, y0, y1] = [cx - size / 2, cx + size / 2, cy - size / 2, cy + size / 2];
    this.svg.setAttribute("viewBox", [x0, y0, x1 - x0, y1 - y0].map((v) => v.toFixed(1)).join(" "));
    this.svg.setAttribute("font-size", (size / 22).toFixed(1));
  }

  /** Fit the view to the compound plus the given [lat, lon] points (e.g. a wanderer). */
  fit(extra = [], pad = 12) {
    let pts = extra.map((p) => this.project(p));
    if (this.data) {
      const inSafe = this.data.pois.filter((p) => p.kind !== "landmark").flatMap((p) => p.polygon);
      pts = pts.concat([...this.data.boundary, ...inSafe].map((p) => this.project(p)));
    }
    if (!pts.length) { this.svg.setAttribute("viewBox", "-100 -100 200 200"); return; }
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    let [x0, x1, y0, y1] = [Math.min(...xs) - pad, Math.max(...xs) + pad, Math.min(...ys) - pad, Math.max(...ys) + pad];
    const minSize = 80;  // never zoom in so far that one fix fills the screen
    if (x1 - x0 < minSize) { const c = (x0 + x1) / 2; [x0, x1] = [c - minSize / 2, c + minSize / 2]; }
    if (y1 - y0 < minSize) { const c = (y0 + y1) / 2; [y0, y1] = [c - minSize / 2, c + minSize / 2]; }
    this.svg.setAttribute("viewBox", [x0, y0, x1 - x0, y1 - y0].map((v) => v.toFixed(1)).join(" "));
    // Labels stay readable whatever the zoom: about 1/50 of the shown extent.
    this.svg.setAttribute("font-size", (Math.max(x1 - x0, y1 - y0) / 50).toFixed(1));
  }

  /** SVG coordinates of a pointer event (for drawing zones). */
  eventPoint(ev) {
    const pt = this.svg.createSVGPoint();
    pt.x = ev.clientX;
    pt.y = ev.clientY;
    const local = pt.matrixTransform(this.svg.getScreenCTM().inverse());
    return [local.x, local.y];
  }
}
