// Fleet: every station, paged on the server (a 10,000-station fleet is 200 pages of 50).
"use strict";

const app = document.getElementById("app");
const state = { q: "", tag: "", state: "", page: 1, size: 50, visible: new Set() };

const search = el("input", { type: "search", placeholder: "search station id", id: "search",
  oninput: debounce((e) => { state.q = e.target.value; state.page = 1; load(); }, 250) });
const tagSelect = el("select", { id: "tag", onchange: (e) => { state.tag = e.target.value; state.page = 1; load(); } },
  el("option", { value: "" }, "any tag"));
const stateSelect = el("select", { id: "state", onchange: (e) => { state.state = e.target.value; state.page = 1; load(); } },
  ...["", "online", "offline", "verified", "drift", "drift_unresolved", "unverifiable", "unverified"]
    .map((s) => el("option", { value: s }, s || "any state")));
const pager = el("span", { class: "muted", id: "pager" });
const paging = { pages: 1 };
function goTo(page) {
  const wanted = Math.min(Math.max(1, page), paging.pages);
  if (wanted !== state.page) { state.page = wanted; load(); }
}
const first = el("button", { id: "first", onclick: () => goTo(1) }, "« first");
const prev = el("button", { id: "prev", onclick: () => goTo(state.page - 1) }, "‹ previous");
const next = el("button", { id: "next", onclick: () => goTo(state.page + 1) }, "next ›");
const last = el("button", { id: "last", onclick: () => goTo(paging.pages) }, "last »");
const pageInput = el("input", { type: "number", id: "page", min: 1, value: 1, style: "width:5em",
  onchange: (e) => goTo(parseInt(e.target.value, 10) || 1) });
const tbody = el("tbody");
app.append(
  el("div", { class: "toolbar" }, search, tagSelect, stateSelect, first, prev, pageInput, next, last, pager),
  el("table", { id: "fleet" },
    el("thead", {}, el("tr", {}, ...["Station", "Online", "Connectors", "Limit now", "Delivery",
      "Verification", "Tags", "Last seen"].map((h) => el("th", {}, h)))),
    tbody));

function row(s) {
  const delivery = Object.entries(s.delivery).map(([k, n]) => el("span", {}, stateBadge(k), n, " "));
  return el("tr", { "data-station": s.station_id },
    el("td", {}, el("a", { href: "/ui/stations/" + encodeURIComponent(s.station_id) }, s.station_id)),
    el("td", {}, s.online ? badge("online", "ok") : badge("offline", "bad")),
    el("td", {}, s.connectors.map((c) => badge(c.connector_id + ": " + c.status,
      c.status === "Faulted" || c.status === "Unavailable" ? "bad" : c.status === "Charging" ? "ok" : ""))),
    el("td", {}, s.limit_w === null ? "–" : (s.limit_w / 1000).toFixed(1) + " kW"),
    el("td", {}, delivery.length ? delivery : el("span", { class: "muted" }, "no profiles")),
    el("td", {}, stateBadge(s.verification_state)),
    el("td", {}, s.tags.map((t) => badge(t))),
    el("td", { class: "muted" }, when(s.last_seen)));
}

async function load() {
  const params = new URLSearchParams({ page: state.page, size: state.size });
  if (state.q) params.set("q", state.q);
  if (state.tag) params.set("tag", state.tag);
  if (state.state) params.set("state", state.state);
  const page = await api("/ui/api/fleet?" + params);
  const pages = Math.max(1, Math.ceil(page.total / state.size));
  if (state.page > pages) { state.page = pages; return load(); }
  tbody.replaceChildren(...page.rows.map(row));
  state.visible = new Set(page.rows.map((r) => r.station_id));
  paging.pages = pages;
  pager.textContent = `${page.total} station${page.total === 1 ? "" : "s"} · page ${state.page} of ${pages}`;
  pager.dataset.total = String(page.total);
  pageInput.value = String(state.page);
  pageInput.max = String(pages);
  first.disabled = prev.disabled = state.page <= 1;
  next.disabled = last.disabled = state.page >= pages;
  const known = new Set([...tagSelect.options].map((o) => o.value));
  for (const tag of page.tags) if (!known.has(tag)) tagSelect.append(el("option", { value: tag }, tag));
}

const refresh = debounce(load, 400);
listen({ type: ["station.connected", "station.disconnected", "station.booted", "connector.status",
  "profile.accepted", "profile.rejected", "profile.failed", "verification.verified",
  "verification.drift", "verification.repaired", "verification.unverifiable"].join(",") },
(event) => {
  // A new station may belong on this page; a known one changed.
  if (!event.station_id || state.visible.has(event.station_id) || event.type === "station.connected") refresh();
});
load();
