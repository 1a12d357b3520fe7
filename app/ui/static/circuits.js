// Circuits: the tree, per-phase load against limit over time, each session's share and
// what binds it; redrawn live on circuit.replanned and transaction events.
"use strict";

const app = document.getElementById("app");
const picker = el("select", { id: "root", onchange: () => { history.length = 0; load(); } });
const tree = el("div", { class: "card", id: "tree" });
const chartBox = el("div", { class: "card chart", id: "load-chart" });
const sessions = el("div", { class: "card", id: "sessions" });
app.append(el("div", { class: "toolbar" }, "grid connection", picker),
  el("h2", {}, "Tree: per-phase limit, load and headroom now (A)"), tree,
  el("h2", {}, "Load against limit over time (root, A)"), chartBox,
  el("h2", {}, "Sessions: each one's share and what binds it"), sessions);

const history = [];  // [time, L1, L2, L3, limit L1] samples of the root, from this page's reads
let plot = null;

function phases(values) { return values.map((v) => v.toFixed(1)).join(" / "); }

function drawTree(allocation) {
  const byParent = new Map();
  for (const c of allocation.circuits) {
    const key = c.parent_id || "";
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(c);
  }
  const rows = [];
  const walk = (parent, depth) => {
    for (const c of byParent.get(parent) || []) {
      const tight = c.headroom_a.some((h) => h <= 0.05);
      rows.push(el("tr", { "data-circuit": c.id },
        el("td", { style: `padding-left:${0.5 + depth * 1.5}em` }, c.id),
        el("td", {}, phases(c.limit_a)), el("td", {}, phases(c.load_a)),
        el("td", {}, tight ? badge(phases(c.headroom_a), "warn") : phases(c.headroom_a)),
        el("td", { class: "muted" }, c.other_load_source)));
      walk(c.id, depth + 1);
    }
  };
  walk("", 0);
  tree.replaceChildren(el("table", {}, el("thead", {}, el("tr", {},
    ...["circuit", "limit L1/L2/L3", "load", "headroom", "other load"].map((h) => el("th", {}, h)))),
  el("tbody", {}, rows)));
}

function drawSessions(allocation) {
  sessions.replaceChildren(allocation.sessions.length ? el("table", { id: "session-table" },
    el("thead", {}, el("tr", {}, ...["transaction", "station", "connector", "circuit", "phases",
      "limit A", "binding", "safe share A"].map((h) => el("th", {}, h)))),
    el("tbody", {}, allocation.sessions.map((s) => el("tr", { "data-transaction": s.transaction_id },
      el("td", {}, s.transaction_id),
      el("td", {}, el("a", { href: "/ui/stations/" + encodeURIComponent(s.station_id) }, s.station_id)),
      el("td", {}, s.connector_id), el("td", {}, s.circuit_id), el("td", {}, s.phases.join(" ")),
      el("td", { class: "limit" }, s.limit_a.toFixed(1)),
      el("td", {}, s.admitted ? s.binding : badge(s.binding, "bad")),
      el("td", {}, s.safe_share_a === null ? "–" : s.safe_share_a.toFixed(1))))))
    : el("span", { class: "muted", id: "no-sessions" }, "No car is charging below this circuit."));
  sessions.dataset.count = String(allocation.sessions.length);
}

function drawHistory(allocation) {
  const root = allocation.circuits.find((c) => c.id === allocation.root_id);
  history.push([Date.parse(allocation.at) / 1000, ...root.load_a, root.limit_a[0]]);
  if (history.length > 500) history.shift();
  // A step line needs two points: the first read is drawn as holding for the past minute.
  const samples = history.length === 1 ? [[history[0][0] - 60, ...history[0].slice(1)], history[0]] : history;
  const data = [0, 1, 2, 3, 4].map((i) => samples.map((h) => h[i]));
  if (!plot) {
    const step = uPlot.paths.stepped({ align: 1 });
    plot = new uPlot({ width: 900, height: 240, scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } }, axes: [{}, { label: "A" }],
      series: [{}, { label: "L1", stroke: "#0969da", paths: step }, { label: "L2", stroke: "#1a7f37", paths: step },
        { label: "L3", stroke: "#8250df", paths: step },
        { label: "limit L1", stroke: "#cf222e", dash: [6, 4], paths: step }] }, data, chartBox);
  } else plot.setData(data);
}

async function load() {
  const root = picker.value;
  if (!root) return;
  const allocation = await api(`/circuits/${encodeURIComponent(root)}/allocation`);
  drawTree(allocation);
  drawSessions(allocation);
  drawHistory(allocation);
}

async function start() {
  const circuits = await api("/circuits");
  const roots = circuits.filter((c) => !c.parent_id);
  picker.replaceChildren(...roots.map((c) => el("option", { value: c.id }, c.id)));
  const wanted = new URLSearchParams(location.search).get("circuit");
  if (wanted) picker.value = wanted;
  if (!roots.length) tree.replaceChildren(el("span", { class: "muted" }, "No circuits. POST /circuits creates one."));
  await load();
}

const refresh = debounce(() => load().catch((e) => console.error(e)), 300);
listen({ type: "circuit.replanned,transaction.started,transaction.stopped" }, refresh);
start().catch((e) => tree.replaceChildren("failed: " + e.message));
