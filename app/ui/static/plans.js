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
app.append(el("h2", {}, "Plans"), plansBox, el("h2", { class: "needs-operator" }, "Edit a plan, with a preview of each target's next 24 h"),
  editorCard, el("h2", {}, "Tariffs"), tariffsBox);

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

function previewChart(item) {
  const box = el("div", { class: "card chart", "data-station": item.station_id },
    el("h3", {}, item.station_id, " ", item.composite ? badge("would hold", "ok") : badge("cannot take it", "bad")));
  if (!item.composite) {
    box.append(el("div", { class: "drift" }, item.problems.map((p) => p.key + ": " + p.message).join("; ")));
    return box;
  }
  const cs = item.composite.chargingSchedule;
  const start = Date.parse(item.composite.scheduleStart || cs.startSchedule) / 1000;
  const periods = cs.chargingSchedulePeriod;
  const x = [...periods.map((p) => start + p.startPeriod), start + (cs.duration || 86400)];
  const y = [...periods.map((p) => p.limit / 1000), periods[periods.length - 1].limit / 1000];
  box.dataset.firstLimit = String(y[0]);
  box.append(el("div", {}));
  new uPlot({ width: 600, height: 200, scales: { x: { time: true }, y: { range: (u, a, b) => [0, Math.max(1, b * 1.15)] } },
    axes: [{}, { label: "kW" }], series: [{}, { label: "composite kW", stroke: "#0969da", width: 2,
      paths: uPlot.paths.stepped({ align: 1 }) }] }, [x, y], box.lastChild);
  return box;
}

async function preview() {
  try {
    const result = await api("/plans/preview", { method: "POST", body: JSON.stringify(parsed()) });
    previewBox.replaceChildren(...result.stations.map(previewChart),
      ...result.problems.map((p) => el("div", { class: "drift" }, (p.station_id ? p.station_id + ": " : "") + p.key + ": " + p.message)));
  } catch (e) { previewBox.replaceChildren(el("div", { class: "drift", id: "plan-error" }, e.message)); }
}

function save() {
  let body;
  try { body = parsed(); } catch (e) { window.alert(e.message); return; }
  const creating = editing.id === null;
  confirmAndRun(creating ? `Create plan "${body.name}" and send it to its targets?` : `Replace plan ${editing.id} and send it?`,
    () => api(creating ? "/plans" : `/plans/${editing.id}`, { method: creating ? "POST" : "PUT", body: JSON.stringify(body) })
      .then((p) => { edit(p.id, p); load(); return `plan ${p.id} saved`; }));
}
edit(null, TEMPLATE);

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
      el("td", {}, t.id), el("td", {}, t.name), el("td", {}, t.timezone), el("td", {}, targets(t.targets)),
      el("td", {}, t.default_limit + " " + t.unit), el("td", {}, t.windows.length),
      el("td", {}, t.enabled ? "yes" : "no"), el("td", {}, await statusOf("tariffs", t.id)))))))
    : el("span", { class: "muted" }, "No tariffs. POST /tariffs creates one."));
}

const refresh = debounce(load, 500);
listen({ type: "plan.applied,tariff.applied,profile.accepted,profile.rejected,profile.failed" }, refresh);
load().catch((e) => plansBox.replaceChildren("failed: " + e.message));
