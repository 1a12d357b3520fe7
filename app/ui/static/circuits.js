// Circuits: the tree, per-phase load against limit over time, each session's share and
// what binds it, the plan ahead and each need; redrawn live on circuit.replanned and
// transaction events.
"use strict";

const app = document.getElementById("app");
const picker = el("select", { id: "root", onchange: () => { history.length = 0; load(); } });
const tree = el("div", { class: "card", id: "tree" });
const chartBox = el("div", { class: "card chart", id: "load-chart" });
const sessions = el("div", { class: "card", id: "sessions" });
const planBox = el("div", { class: "card chart", id: "plan-chart" });
const needs = el("div", { class: "card", id: "needs" });
app.append(el("div", { class: "toolbar" }, "grid connection", picker),
  el("h2", {}, "Tree: per-phase limit, load and headroom now (A)"), tree,
  el("h2", {}, "Load against limit over time (root, A)"), chartBox,
  el("h2", {}, "Sessions: each one's share and what binds it"), sessions,
  el("h2", {}, "Plan ahead (A)"), planBox,
  el("h2", {}, "Needs"), needs);

const history = [];  // [time, L1, L2, L3, limit L1] samples of the root, from this page's reads
let plot = null;
let planPlot = null;
const BANDS = ["#0969da", "#1a7f37", "#8250df", "#bf8700", "#1b7c83", "#bc4c00", "#cf222e", "#57606a"];

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

function hasNeed(s) { return Boolean(s.need_source) && s.need_source !== "none"; }

function kwh(value) { return value === null || value === undefined ? "–" : value.toFixed(2); }

// The plan's sessions as stacked step bands (cumulative sums, each filled down to the one
// below), the root's lowest per-phase limit as a line, the price on a second axis.
function drawPlan(plan) {
  if (planPlot) { planPlot.destroy(); planPlot = null; }
  const slots = plan.slots;
  if (!plan.sessions.some((s) => s.plans) || !slots.length) {
    planBox.replaceChildren(el("span", { class: "muted", id: "no-plan" },
      "No session has a need: shares are decided at each instant."));
    planBox.dataset.bands = "0";
    return;
  }
  planBox.replaceChildren();
  // A step holds its value to the next point: the last slot's end repeats its value.
  const hold = (values) => [...values, values[values.length - 1]];
  const x = hold(slots.map((t) => Date.parse(t.start) / 1000));
  x[x.length - 1] = Date.parse(slots[slots.length - 1].end) / 1000;
  const raw = plan.sessions.map((s) => hold(s.current_a));
  const stacked = [];
  raw.forEach((values, i) => stacked.push(values.map((v, t) => v + (i ? stacked[i - 1][t] : 0))));
  const limit = hold(slots.map((t) => {
    const lowest = Math.min(...t.limits[0].max_current_a);
    return Number.isFinite(lowest) ? lowest : null;
  }));
  const priced = slots.some((t) => t.price_per_kwh !== null);
  const step = uPlot.paths.stepped({ align: 1 });
  const series = [{}];
  const bands = [];
  plan.sessions.forEach((s, i) => {
    const color = BANDS[i % BANDS.length];
    series.push({ label: `tx ${s.transaction_id} (${s.station_id})`, stroke: color,
      fill: color + "55", paths: step, value: (u, v, si, idx) => idx === null ? "–" : raw[i][idx].toFixed(1) });
    if (i) bands.push({ series: [i + 1, i] });
  });
  const limitRoot = `limit ${plan.root_id} (lowest phase)`;
  series.push({ label: limitRoot, stroke: "#cf222e", width: 2, dash: [6, 4], paths: step });
  const data = [x, ...stacked, limit];
  const axes = [{}, { label: "A" }];
  if (priced) {
    series.push({ label: "price / kWh", scale: "price", stroke: "#9a6700", paths: step });
    data.push(hold(slots.map((t) => t.price_per_kwh)));
    axes.push({ scale: "price", side: 1, label: "price / kWh", grid: { show: false } });
  }
  planPlot = new uPlot({ width: 900, height: 260, bands,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes, series }, data, planBox);
  planBox.dataset.bands = String(plan.sessions.length);
}

function drawNeeds(allocation, plan) {
  const planned = new Map(plan.sessions.map((s) => [s.transaction_id, s]));
  const rows = allocation.sessions.filter(hasNeed);
  const decided = allocation.decided_by || "–";
  needs.replaceChildren(rows.length ? el("table", { id: "needs-table" },
    el("thead", {}, el("tr", {}, ...["transaction", "station", "need source", "need kWh",
      "departure", "planned kWh", "shortfall kWh", "why short", "decided by"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((s) => {
      const p = planned.get(s.transaction_id) || {};
      return el("tr", { "data-transaction": s.transaction_id },
        el("td", {}, s.transaction_id),
        el("td", {}, el("a", { href: "/ui/stations/" + encodeURIComponent(s.station_id) }, s.station_id)),
        el("td", { class: "source" }, s.need_source),
        el("td", {}, p.energy_kwh === null ? "as much as it takes" : kwh(p.energy_kwh)),
        el("td", {}, p.departure ? when(p.departure) : "–"),
        el("td", { class: "planned" }, kwh(s.planned_kwh)),
        el("td", {}, s.shortfall_reason ? badge(kwh(s.shortfall_kwh), "warn") : kwh(s.shortfall_kwh)),
        el("td", { class: "muted" }, s.shortfall_reason || ""),
        el("td", {}, decided.startsWith("water level") ? badge(decided, "warn") : decided));
    })))
    : el("span", { class: "muted", id: "no-needs" }, "No session below this circuit has a need."));
}

async function load() {
  const root = picker.value;
  if (!root) return;
  const path = `/circuits/${encodeURIComponent(root)}`;
  const [allocation, plan] = await Promise.all([api(path + "/allocation"), api(path + "/plan")]);
  drawTree(allocation);
  drawSessions(allocation);
  drawHistory(allocation);
  drawPlan(plan);
  drawNeeds(allocation, plan);
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
const live = listen({ type: "circuit.replanned,transaction.started,transaction.stopped" }, refresh);
// listen() hands on only the event types common.js names; a re-plan (a need set, a car's
// draw) is one this page must see too.
live.addEventListener("circuit.replanned", refresh);
start().catch((e) => tree.replaceChildren("failed: " + e.message));
