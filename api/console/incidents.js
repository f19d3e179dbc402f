// Triage of a flood: alerts of one resident (or, without one, one building or device) opened
// within the incident window of each other form one incident. Incidents needing an
// acknowledgement come first, then by their worst severity, then the one that paged last (a
// new critical, or one paging again after its ack timed out, lands on top; each row says how
// long it has waited).
export const RANK = { critical: 4, major: 3, minor: 2, info: 1 };

/** Active and not muted: someone must acknowledge it. */
export function needsAck(a) { return a.state === "active" && !a.muted; }

export function incidentKey(a) {
  if (a.resident_id) return `r:${a.resident_id}`;
  if (a.building) return `p:${a.site}/${a.building}`;
  return `d:${a.device_id}`;
}

/** When an alert last paged: opened, or paged again after its ack timed out. */
export function pagedAt(a) { return a.paged_at ?? a.opened_at; }

function alertOrder(x, y) {
  return (needsAck(y) - needsAck(x)) || (RANK[y.severity] - RANK[x.severity]) || (pagedAt(y) - pagedAt(x)) || (y.id - x.id);
}

/** Group alerts into incidents and sort both levels. */
export function groupIncidents(alerts, windowS) {
  const byKey = new Map();
  for (const a of alerts) {
    const key = incidentKey(a);
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key).push(a);
  }
  const out = [];
  for (const [key, list] of byKey) {
    list.sort((x, y) => x.opened_at - y.opened_at);
    let current = null;
    for (const a of list) {
      if (!current || a.opened_at - current.latest > windowS) {
        current = { id: `${key}#${a.id}`, key, alerts: [], first: a.opened_at, latest: a.opened_at };
        out.push(current);
      }
      current.alerts.push(a);
      current.latest = Math.max(current.latest, a.opened_at);
    }
  }
  for (const inc of out) {
    inc.alerts.sort(alertOrder);
    inc.rank = Math.max(...inc.alerts.map((a) => RANK[a.severity] || 0));
    inc.severity = Object.keys(RANK).find((k) => RANK[k] === inc.rank) || "info";
    inc.needsAck = inc.alerts.some(needsAck);
    inc.newest = Math.max(...inc.alerts.map((a) => a.id));  // ties in time: the later alert
    inc.paged = Math.max(...inc.alerts.map(pagedAt));  // a re-paged alert brings it up again
    const lead = inc.alerts[0];
    Object.assign(inc, { resident_id: lead.resident_id, building: lead.building, grid: lead.grid, site: lead.site });
  }
  out.sort((x, y) => (y.needsAck - x.needsAck) || (y.rank - x.rank) || (y.paged - x.paged) || (y.newest - x.newest));
  return out;
}

/** Does an alert pass the filter ({state, severity, category, kind, grid, q} + names)? */
export function matches(a, f, names) {
  if (f.state === "muted" ? !a.muted : f.state === "active" ? !needsAck(a) : f.state && a.state !== f.state) return false;
  if (f.severity && a.severity !== f.severity) return false;
  if (f.category && a.category !== f.category) return false;
  if (f.kind && a.kind !== f.kind) return false;
  if (f.grid && a.grid !== f.grid) return false;
  if (f.q) {
    const hay = `${a.device_id} ${a.resident_id || ""} ${names[a.resident_id] || ""} ${a.building || ""} ${a.name_zh || ""} ${a.name_en || ""}`.toLowerCase();
    if (!hay.includes(f.q.toLowerCase())) return false;
  }
  return true;
}

/** Header counts over every open alert (never just the page shown). */
export function countAlerts(alerts, windowS) {
  const list = [...alerts];
  return {
    critical_active: list.filter((a) => a.severity === "critical" && needsAck(a)).length,
    active: list.filter(needsAck).length,
    acknowledged: list.filter((a) => a.state === "acknowledged").length,
    muted: list.filter((a) => a.muted).length,
    incidents: groupIncidents(list.filter((a) => !a.muted), windowS).length,
  };
}
