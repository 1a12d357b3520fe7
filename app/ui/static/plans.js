// Plans and tariffs with the delivery state of each target station.
"use strict";

const app = document.getElementById("app");
const plansBox = el("div", { class: "card", id: "plans" }, "loading…");
const tariffsBox = el("div", { class: "card", id: "tariffs" }, "loading…");
const TEMPLATE = { name: "evening cap", targets: { station_ids: [], tags: [] }, connector_id: 0, enabled: true,
  profile: { stackLevel: 1, chargingProfilePurpose: "TxDefaultProfile", chargingProfileKind: "Absolute",
    chargingSchedule: { chargingRateUnit: "W", chargingSchedulePeriod: [{ startPeriod: 0, limit: 11000 }] } } };
const editing = { id: null };
const editor = el("textarea", { id: "plan-json", rows: 14, cols: 90, spellcheck: "false" });
const editorNote = el("div", { class: "muted", id: "plan-note" }, "A new plan: edit, preview, then save.");
const previewBox = el("div", { class: "grid", id: "plan-preview" });
const editorCard = el("div", { class: "card needs-operator", id: "plan-editor" }, editorNote, editor,
  el("div", { class: "toolbar" },
    el("button", { id: "plan-new", onclick: () => edit(null, TEMPLATE) }, "New plan"),
    el("button", { id: "plan-preview-button", onclick: () => preview() }, "Preview (nothing is sent)"),
    el("button", { id: "plan-save", onclick: () => save() }, "Save")),
  previewBox);
const TARIFF_TEMPLATE = { name: "evening peak", timezone: "Europe/Berlin", unit: "W",
  windows: [{ days: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], start: "17:00", end: "21:00", limit: 4000 }],
  default_limit: 11000, price_rule: null, targets: { station_ids: [], tags: [] }, connector_id: 0, stack_level: 0, enabled: true };
const tariffEditing = { id: null };
const tariffEditor = el("textarea", { id: "tariff-json", rows: 16, cols: 90, spellcheck: "false" });
const tariffNote = el("div", { class: "muted", id: "tariff-note" });
const tariffPreviewBox = el("div", { class: "grid", id: "tariff-preview" });
const tariffCard = el("div", { class: "card needs-operator", id: "tariff-editor" }, tariffNote, tariffEditor,
  el("div", { class: "toolbar" },
    el("button", { id: "tariff-new", onclick: () => editTariff(null, TARIFF_TEMPLATE) }, "New tariff"),
    el("button", { id: "tariff-preview-button", onclick: () => previewTariff() }, "Preview (nothing is sent)"),
    el("button", { id: "tariff-save", onclick: () => saveTariff() }, "Save")),
  tariffPreviewBox);
app.append(el("h2", {}, "Plans"), plansBox, el("h2", { class: "needs-operator" }, "Edit a plan, with a preview of each target's next 24 h"),
  editorCard, el("h2", {}, "Tariffs"), tariffsBox,
  el("h2", { class: "needs-operator" }, "Edit a tariff, with a preview of its profile and each target's next 24 h"), tariffCard);

function edit(id, plan) {
  editing.id = id;
  const { name, targets, connector_id, profile, enabled } = plan;
  editor.value = JSON.stringify({ name, targets, connector_id, profile, enabled }, null, 2);
  editorNote.textContent = id === null ? "A new plan: edit, preview, then save." : `Plan ${id}: edit, preview, then save.`;
  previewBox.replaceChildren();
}

function parsed() {
  try { return JSON.parse(editor.value); } catch (e) { throw new Error("not JSON: " + e.message); }
}

// A step chart of one OCPP charging schedule: x in seconds from its start, y in kW or A.
function stepChart(box, start, cs, label) {
  const periods = cs.chargingSchedulePeriod;
  const scale = cs.chargingRateUnit === "A" ? 1 : 1000;
  const x = [...periods.map((p) => start + p.startPeriod), start + (cs.duration || 86400)];
  const y = [...periods.map((p) => p.limit / scale), periods[periods.length - 1].limit / scale];
  const unit = cs.chargingRateUnit === "A" ? "A" : "kW";
  box.dataset.firstLimit = String(y[0]);
  box.dataset.periods = String(periods.length);
  box.append(el("div", {}));
  new uPlot({ width: 600, height: 200, scales: { x: { time: true }, y: { range: (u, a, b) => [0, Math.max(1, b * 1.15)] } },
    axes: [{}, { label: unit }], series: [{}, { label: label + " " + unit, stroke: "#0969da", width: 2,
      paths: uPlot.paths.stepped({ align: 1 }) }] }, [x, y], box.lastChild);
}

function previewChart(item) {
  const box = el("div", { class: "card chart", "data-station": item.station_id },
    el("h3", {}, item.station_id, " ", item.composite ? badge("would hold", "ok") : badge("cannot take it", "bad")));
  if (!item.composite) {
    box.append(el("div", { class: "drift" }, item.problems.map((p) => p.key + ": " + p.message).join("; ")));
    return box;
  }
  const cs = item.composite.chargingSchedule;
  stepChart(box, Date.parse(item.composite.scheduleStart || cs.startSchedule) / 1000, cs, "composite");
  return box;
}

function problemLine(p) {
  return el("div", { class: "drift" }, (p.station_id ? p.station_id + ": " : "") + p.key + ": " + p.message);
}

async function preview() {
  try {
    const result = await api("/plans/preview", { method: "POST", body: JSON.stringify(parsed()) });
    previewBox.replaceChildren(...result.stations.map(previewChart),
      ...result.problems.map(problemLine));
  } catch (e) { previewBox.replaceChildren(el("div", { class: "drift", id: "plan-error" }, e.message)); }
}

// Create (POST /plans, /tariffs) or replace (PUT .../{id}) what an editor holds, after a confirmation.
function saveEdited(kind, id, read, reopen) {
  let body;
  try { body = read(); } catch (e) { window.alert(e.message); return; }
  const creating = id === null;
  confirmAndRun(creating ? `Create ${kind} "${body.name}" and send it to its targets?` : `Replace ${kind} ${id} and send it?`,
    () => api(creating ? `/${kind}s` : `/${kind}s/${id}`, { method: creating ? "POST" : "PUT", body: JSON.stringify(body) })
      .then((saved) => { reopen(saved.id, saved); load(); return `${kind} ${saved.id} saved`; }));
}

function save() { saveEdited("plan", editing.id, parsed, edit); }
edit(null, TEMPLATE);

function editTariff(id, tariff) {
  tariffEditing.id = id;
  const { name, timezone, unit, windows, default_limit, price_rule, targets, connector_id, stack_level, enabled } = tariff;
  tariffEditor.value = JSON.stringify({ name, timezone, unit, windows, default_limit, price_rule, targets, connector_id, stack_level, enabled }, null, 2);
  tariffNote.textContent = id === null ? "A new tariff: edit, preview, then save." : `Tariff ${id}: edit, preview, then save.`;
  tariffPreviewBox.replaceChildren();
}

function parsedTariff() {
  try { return JSON.parse(tariffEditor.value); } catch (e) { throw new Error("not JSON: " + e.message); }
}

async function previewTariff() {
  try {
    const query = tariffEditing.id === null ? "" : `?prices_of=${tariffEditing.id}`;
    const result = await api("/tariffs/preview" + query, { method: "POST", body: JSON.stringify(parsedTariff()) });
    const cs = result.profile.chargingSchedule;
    const profileBox = el("div", { class: "card chart", id: "tariff-profile" },
      el("h3", {}, "The profile from ", result.date, " local, for two days"));
    stepChart(profileBox, Date.parse(cs.startSchedule) / 1000, cs, "limit");
    tariffPreviewBox.replaceChildren(profileBox, ...result.stations.map(previewChart),
      ...result.problems.map(problemLine));
  } catch (e) { tariffPreviewBox.replaceChildren(el("div", { class: "drift", id: "tariff-error" }, e.message)); }
}

function saveTariff() { saveEdited("tariff", tariffEditing.id, parsedTariff, editTariff); }
editTariff(null, TARIFF_TEMPLATE);

function targets(t) {
  return [...(t.station_ids || []).map((s) => badge(s)), ...(t.tags || []).map((s) => badge("tag " + s))];
}

function limits(profile) {
  const s = profile.chargingSchedule || {};
  return (s.chargingSchedulePeriod || []).map((p) => p.limit + " " + s.chargingRateUnit).join(", ");
}

async function statusOf(kind, id) {
  const rows = (await api(`/${kind}/${id}/status`)).stations;
  const counts = {};
  for (const r of rows) counts[r.state || "none"] = (counts[r.state || "none"] || 0) + 1;
  return Object.entries(counts).map(([k, n]) => el("span", {}, stateBadge(k), n, " "));
}

async function load() {
  const [plans, tariffs] = await Promise.all([api("/plans"), api("/tariffs")]);
  plansBox.replaceChildren(plans.length ? el("table", {},
    el("thead", {}, el("tr", {}, ...["id", "name", "targets", "connector", "limits", "enabled", "delivery"].map((h) => el("th", {}, h)))),
    el("tbody", {}, await Promise.all(plans.map(async (p) => el("tr", {},
      el("td", {}, el("a", { href: "#plan-editor", onclick: () => edit(p.id, p) }, p.id)), el("td", {}, p.name),
      el("td", {}, targets(p.targets)), el("td", {}, p.connector_id),
      el("td", {}, limits(p.profile)), el("td", {}, p.enabled ? "yes" : "no"),
      el("td", {}, await statusOf("plans", p.id)))))))
    : el("span", { class: "muted" }, "No plans. POST /plans creates one."));
  tariffsBox.replaceChildren(tariffs.length ? el("table", {},
    el("thead", {}, el("tr", {}, ...["id", "name", "time zone", "targets", "default limit", "windows", "enabled", "delivery"].map((h) => el("th", {}, h)))),
    el("tbody", {}, await Promise.all(tariffs.map(async (t) => el("tr", {},
      el("td", {}, el("a", { href: "#tariff-editor", onclick: () => editTariff(t.id, t) }, t.id)), el("td", {}, t.name), el("td", {}, t.timezone), el("td", {}, targets(t.targets)),
      el("td", {}, t.default_limit + " " + t.unit), el("td", {}, t.windows.length),
      el("td", {}, t.enabled ? "yes" : "no"), el("td", {}, await statusOf("tariffs", t.id)))))))
    : el("span", { class: "muted" }, "No tariffs. POST /tariffs creates one."));
}

const refresh = debounce(load, 500);
listen({ type: "plan.applied,tariff.applied,profile.accepted,profile.rejected,profile.failed" }, refresh);
load().catch((e) => plansBox.replaceChildren("failed: " + e.message));
