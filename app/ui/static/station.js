// One station: connectors, profile stack, expected vs reported composite per connector
// (24 h step charts, drift marked), commands, and its live events.
"use strict";

const app = document.getElementById("app");
const stationId = app.dataset.stationId;
const base = "/stations/" + encodeURIComponent(stationId);
const DAY = 86400;

const summary = el("div", { class: "card", id: "summary" }, "loading…");
const charts = el("div", { class: "grid", id: "charts" });
const stack = el("div", { class: "card", id: "stack" });
const why = el("div", { class: "card", id: "why" });
const open = el("div", { class: "card", id: "transactions" });
const commands = el("div", { class: "card needs-operator", id: "commands" });
const log = el("div", { class: "card events", id: "events" });
app.append(summary, el("h2", {}, "Composite schedule, next 24 h: expected vs reported"), charts,
  el("h2", {}, "Why is the limit what it is now"), why,
  el("h2", {}, "Open transactions: energy, power and current since they started, live"), open,
  el("h2", {}, "Profile stack (desired)"), stack, el("h2", { class: "needs-operator" }, "Commands"), commands,
  el("h2", {}, "Live events"), log);

const plots = new Map();

function steps(schedule) {
  if (!schedule || !schedule.chargingSchedule) return null;
  const cs = schedule.chargingSchedule;
  const start = Date.parse(schedule.scheduleStart || cs.startSchedule) / 1000;
  const end = start + (cs.duration || DAY);
  return { start, end, periods: cs.chargingSchedulePeriod.map((p) => [start + p.startPeriod, p.limit]) };
}

function valueAt(s, t) {
  if (!s || t < s.start || t > s.end) return null;
  let value = null;
  for (const [at, limit] of s.periods) { if (at <= t) value = limit; else break; }
  return value === null ? null : value / 1000;
}

function series(expected, reported) {
  const xs = new Set();
  for (const s of [expected, reported]) if (s) { xs.add(s.start); xs.add(s.end); s.periods.forEach(([t]) => xs.add(t)); }
  const x = [...xs].sort((a, b) => a - b);
  const e = x.map((t) => valueAt(expected, t));
  const r = x.map((t) => valueAt(reported, t));
  const drift = x.map((t, i) => (e[i] !== null && r[i] !== null && Math.abs(e[i] - r[i]) > 0.0001) ? r[i] : null);
  return [x, e, r, drift];
}

function chartFor(connectorId, report) {
  const expected = steps(report.expected);
  const reported = report.schedule && report.schedule.status === "Accepted" ? steps(report.schedule) : null;
  const data = series(expected, reported);
  const differs = data[3].some((v) => v !== null);
  // The server compares only where chargeplan sets a limit: where it sets none, the
  // expected line is the composite's fill value and the station's own maximum applies.
  // What it found to match is not drift, whatever the two lines show there.
  if (report.matches !== false) data[3] = data[3].map(() => null);
  const drifting = report.matches === false && differs;
  const box = el("div", { class: "card chart", "data-connector": connectorId,
    "data-expected-points": expected ? expected.periods.length : 0,
    "data-reported-points": reported ? reported.periods.length : 0,
    "data-drift": drifting ? "true" : "false",
    "data-expected-now": expected ? valueAt(expected, expected.start) : "",
    "data-reported-now": reported ? valueAt(reported, reported.start) : "" },
  el("h3", {}, connectorId === 0 ? "Whole station (connector 0)" : "Connector " + connectorId, " ",
    report.matches === true ? badge("matches", "ok") : report.matches === false ? badge("drift", "bad")
      : badge(report.status === "success" ? "no report" : "not reported: " + (report.error || report.status), "warn")),
  drifting ? el("div", { class: "drift" }, "Drift: the station reports another limit than expected (red)")
    : differs && report.matches === true ? el("div", { class: "muted" },
      "Where the lines part, chargeplan sets no limit: the station's own maximum applies") : null);
  const step = uPlot.paths.stepped({ align: 1 });
  const options = {
    width: 600, height: 220,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [{}, { label: "kW" }],
    series: [{},
      { label: "expected kW", stroke: "#0969da", width: 2, paths: step },
      { label: "reported kW", stroke: "#bf8700", width: 2, dash: [6, 4], paths: step },
      { label: "drift", stroke: "#cf222e", width: 4, fill: "rgba(207,34,46,0.15)", paths: step }],
  };
  box.append(el("div", { class: "plot" }));
  const plot = new uPlot(options, data, box.lastChild);
  plots.set(connectorId, plot);
  return box;
}

async function loadCharts(connectorCount) {
  const old = [...plots.values()];
  plots.clear();
  const boxes = [];
  for (let c = 0; c <= connectorCount; c++) {
    const report = await api(`${base}/composite_schedule?connector_id=${c}&duration=${DAY}&charging_rate_unit=W`);
    boxes.push(chartFor(c, report));
  }
  for (const plot of old) plot.destroy();
  charts.replaceChildren(...boxes);
  charts.dataset.loadedAt = String(Date.now());
}

function connectorCountOf(station) {
  const configured = station.configuration && station.configuration.NumberOfConnectors;
  const fromConfig = configured ? parseInt(configured.value, 10) : 0;
  const fromStatus = Math.max(0, ...station.connectors.map((c) => c.connector_id));
  return Math.max(fromConfig || 0, fromStatus, 1);
}

async function loadSummary() {
  const [station, verification] = await Promise.all([api(base), api(base + "/verification")]);
  summary.replaceChildren(
    el("div", {}, station.online ? badge("online", "ok") : badge("offline", "bad"), " ",
      station.vendor || "", " ", station.model || "", " · firmware ", station.firmware_version || "–",
      " · last seen ", when(station.last_seen)),
    el("div", {}, "Verification: ", stateBadge(verification.state), " last ", when(verification.last_verified_at),
      " · repairs ", verification.drift_repairs || 0),
    el("div", {}, "Connectors: ", station.connectors.map((c) => badge(c.connector_id + ": " + c.status))));
  return station;
}

async function loadStack() {
  const profiles = await api(base + "/charging_profiles");
  stack.replaceChildren(profiles.length ? el("table", {},
    el("thead", {}, el("tr", {}, ...["id", "connector", "purpose", "stack level", "owner", "state", "attempts", "limits"]
      .map((h) => el("th", {}, h)))),
    el("tbody", {}, profiles.map((p) => el("tr", {},
      el("td", {}, p.profile_id), el("td", {}, p.connector_id), el("td", {}, p.purpose), el("td", {}, p.stack_level),
      el("td", {}, p.owner_kind + (p.owner_id ? " " + p.owner_id : "")), el("td", {}, stateBadge(p.state)),
      el("td", {}, p.attempts),
      el("td", {}, (p.profile.chargingSchedule.chargingSchedulePeriod || [])
        .map((q) => q.limit + " " + p.profile.chargingSchedule.chargingRateUnit).join(", "))))))
    : el("span", { class: "muted" }, "No desired profiles: the station's own rating applies."));
}

function command(action, payload) {
  return api(`${base}/commands/${action}`, { method: "POST", body: JSON.stringify(payload) })
    .then((r) => `${action}: ${r.status} ${r.response ? JSON.stringify(r.response) : ""}`);
}

function buildCommands() {
  const connector = el("input", { type: "number", min: 0, value: 1, id: "cmd-connector", style: "width:4em" });
  const limit = el("input", { type: "number", min: 0, step: 0.1, value: 7, id: "profile-kw", style: "width:5em" });
  const idTag = el("input", { value: "DASHBOARD", id: "cmd-idtag", style: "width:8em" });
  const tx = el("input", { type: "number", id: "cmd-tx", placeholder: "transaction id", style: "width:9em" });
  const c = () => parseInt(connector.value, 10);
  commands.append(
    el("div", { class: "toolbar" }, "connector", connector, "limit", limit, "kW",
      el("button", { id: "send-profile", onclick: () => confirmAndRun(
        `Send a TxDefaultProfile of ${limit.value} kW to ${stationId}, connector ${c()}?`,
        () => api(base + "/charging_profile", { method: "POST", body: JSON.stringify({ connector_id: c(), profile: {
          stackLevel: 0, chargingProfilePurpose: "TxDefaultProfile", chargingProfileKind: "Absolute",
          chargingSchedule: { chargingRateUnit: "W", chargingSchedulePeriod: [{ startPeriod: 0, limit: Math.round(parseFloat(limit.value) * 1000) }] } } }) })
          .then((r) => `${r.status}: ${r.message}`)) }, "Send limit")),
    el("div", { class: "toolbar" }, "id tag", idTag,
      el("button", { onclick: () => confirmAndRun(`Remote start on connector ${c()} with ${idTag.value}?`,
        () => command("RemoteStartTransaction", { connectorId: c(), idTag: idTag.value })) }, "Remote start"),
      tx, el("button", { onclick: () => confirmAndRun(`Remote stop transaction ${tx.value}?`,
        () => command("RemoteStopTransaction", { transactionId: parseInt(tx.value, 10) })) }, "Remote stop"),
      el("button", { onclick: () => confirmAndRun(`Unlock connector ${c()}?`,
        () => command("UnlockConnector", { connectorId: c() })) }, "Unlock"),
      el("button", { onclick: () => confirmAndRun(`Ask ${stationId} for its StatusNotification?`,
        () => command("TriggerMessage", { requestedMessage: "StatusNotification" })) }, "Trigger status"),
      el("button", { onclick: () => confirmAndRun(`Soft reset ${stationId}? Running transactions stop.`,
        () => command("Reset", { type: "Soft" })) }, "Reset")));
}

async function loadWhy(connectorCount) {
  const rows = [];
  for (let c = 1; c <= connectorCount; c++) {
    const e = await api(`${base}/connectors/${c}/limit`);
    const inForce = e.profiles.filter((p) => p.limit !== null)
      .map((p) => `profile ${p.charging_profile_id} (${p.purpose}, ${p.owner_kind}${p.owner_id ? " " + p.owner_id : ""}, connector ${p.connector_id}): ${p.limit} ${p.unit}`);
    rows.push(el("tr", { "data-connector": c },
      el("td", {}, "connector " + c), el("td", { class: "limit" }, e.limit_a.toFixed(1) + " A"),
      el("td", {}, e.binding),
      el("td", {}, !e.circuit ? "no circuit" : e.circuit.limit_a === null ? `circuit ${e.circuit.circuit_id}: no session`
        : `circuit ${e.circuit.circuit_id}: share ${e.circuit.limit_a} A, ${e.circuit.binding}`),
      el("td", { class: "muted" }, inForce.join("; ") || "no profile in force")));
  }
  why.replaceChildren(el("table", {}, el("thead", {}, el("tr", {},
    ...["", "limit now", "because", "circuit", "profiles in force"].map((h) => el("th", {}, h)))),
  el("tbody", {}, rows)));
}

// Meter curves of the open transactions: read from the stored meter values
// (GET /transactions/{id}/meter_curve), then extended by meter.sample events.
// {id: {t: [], kwh: [], kw: [], a: [], meterStart, plot, box}}
const curves = new Map();
const SCALE = { Wh: 0.001, kWh: 1, W: 0.001, kW: 1, A: 1 };

function sampleValue(sampled, measurand, unitOf) {
  const values = (sampled || []).filter((v) => (v.measurand || "Energy.Active.Import.Register") === measurand
    && (v.unit || unitOf) in SCALE && !Number.isNaN(parseFloat(v.value)));
  if (!values.length) return null;
  const total = values.find((v) => !v.phase);
  const scaled = (v) => parseFloat(v.value) * SCALE[v.unit || unitOf];
  if (total) return scaled(total);
  const each = values.map(scaled);
  return measurand === "Current.Import" ? Math.max(...each) : each.reduce((a, b) => a + b, 0);
}

function drawCurve(curve) {
  const n = curve.t.length;
  curve.box.dataset.samples = String(n);
  if (n) {
    curve.box.dataset.firstAt = String(curve.t[0]);
    curve.box.dataset.lastKw = String(curve.kw[n - 1] ?? "");
    curve.box.dataset.lastKwh = String(curve.kwh[n - 1] ?? "");
    curve.box.dataset.lastA = String(curve.a[n - 1] ?? "");
  }
  curve.plot.setData([curve.t, curve.kwh, curve.kw, curve.a]);
}

function addSample(event) {
  const curve = curves.get(event.data.transaction_id);
  if (!curve) return;
  const t = Date.parse(event.at) / 1000;
  if (curve.t.length && t <= curve.t[curve.t.length - 1]) return;
  const sampled = event.data.sampled_value;
  const kw = sampleValue(sampled, "Power.Active.Import", "W");
  const register = sampleValue(sampled, "Energy.Active.Import.Register", "Wh");
  const a = sampleValue(sampled, "Current.Import", "A");
  if (kw === null && register === null && a === null) return;
  curve.t.push(t);
  curve.kwh.push(register === null ? null : register - curve.meterStart / 1000);
  curve.kw.push(kw);
  curve.a.push(a);
  drawCurve(curve);
  // meter.sample events are throttled per connector: the stored samples fill the gaps.
  if (!curve.timer) curve.timer = setTimeout(() => {
    curve.timer = null;
    loadCurve(curve, event.data.transaction_id).catch((e) => console.error(e));
  }, 2000);
}

async function loadCurve(curve, id) {
  const history = await api(`/transactions/${id}/meter_curve`);
  const kwOf = (w) => (w === null ? null : w / 1000);
  const points = history.points;
  // Samples that arrived by event after the newest stored one stay.
  const newest = points.length ? Date.parse(points[points.length - 1].at) / 1000 : -Infinity;
  const later = curve.t.map((t, i) => [t, curve.kwh[i], curve.kw[i], curve.a[i]]).filter(([t]) => t > newest);
  curve.t = [...points.map((p) => Date.parse(p.at) / 1000), ...later.map((x) => x[0])];
  curve.kwh = [...points.map((p) => kwOf(p.energy_wh)), ...later.map((x) => x[1])];
  curve.kw = [...points.map((p) => kwOf(p.power_w)), ...later.map((x) => x[2])];
  curve.a = [...points.map((p) => p.current_a), ...later.map((x) => x[3])];
  drawCurve(curve);
}

function curveChart(t) {
  const box = el("div", { class: "card chart", "data-transaction": t.id, "data-samples": "0" },
    el("h3", {}, `transaction ${t.id} · connector ${t.connector_id} · ${t.id_tag} · since ${when(t.started_at)}`),
    el("div", {}));
  const plot = new uPlot({ width: 600, height: 180,
    scales: { x: { time: true }, kWh: { range: (u, a, b) => [0, Math.max(0.1, b * 1.15)] },
      kW: { range: (u, a, b) => [0, Math.max(1, b * 1.15)] } },
    axes: [{}, { scale: "kWh", label: "kWh" }, { scale: "kW", side: 1, label: "kW / A", grid: { show: false } }],
    series: [{},
      { label: "energy kWh", scale: "kWh", stroke: "#8250df", width: 2 },
      { label: "power kW", scale: "kW", stroke: "#1a7f37", width: 2, paths: uPlot.paths.stepped({ align: 1 }) },
      { label: "current A", scale: "kW", stroke: "#bc4c00", width: 1, dash: [4, 4], paths: uPlot.paths.stepped({ align: 1 }) }] },
  [[], [], [], []], box.lastChild);
  const curve = { t: [], kwh: [], kw: [], a: [], meterStart: t.meter_start, plot, box, timer: null };
  curves.set(t.id, curve);
  loadCurve(curve, t.id).catch((e) => box.append(el("div", { class: "drift" }, "meter curve: " + e.message)));
  return box;
}

async function loadTransactions() {
  const page = await api(`${base}/transactions?active=true&limit=50`);
  const boxes = page.items.map((t) => (curves.has(t.id) ? curves.get(t.id).box : curveChart(t)));
  const active = new Set(page.items.map((t) => t.id));
  for (const [id, curve] of curves) {
    if (active.has(id)) continue;
    clearTimeout(curve.timer);
    curve.plot.destroy();
    curves.delete(id);
  }
  open.replaceChildren(...(boxes.length ? boxes : [el("span", { class: "muted" }, "No transaction is running.")]));
}

let connectors = 1;
async function loadAll() {
  const station = await loadSummary();
  connectors = connectorCountOf(station);
  await Promise.all([loadStack(), loadCharts(connectors), loadTransactions(),
    loadWhy(connectors).catch((e) => why.replaceChildren("not available: " + e.message))]);
}
const refresh = debounce(() => loadAll().catch((e) => console.error(e)), 500);

listen({ station_id: stationId }, (event) => {
  log.prepend(el("div", { class: "event", "data-type": event.type },
    new Date(event.at).toLocaleTimeString(), " ", event.type,
    event.connector_id !== null ? " connector " + event.connector_id : "", " ",
    el("span", { class: "muted" }, JSON.stringify(event.data))));
  while (log.childElementCount > 50) log.lastChild.remove();
  if (event.type === "meter.sample") addSample(event);
  if (event.type !== "meter.sample" && event.type !== "profile.delivered" && event.type !== "job.finished") refresh();
});
buildCommands();
loadAll().catch((e) => { summary.replaceChildren("failed: " + e.message); });
