// Plans and tariffs with the delivery state of each target station.
"use strict";

const app = document.getElementById("app");
const plansBox = el("div", { class: "card", id: "plans" }, "loading…");
const tariffsBox = el("div", { class: "card", id: "tariffs" }, "loading…");
app.append(el("h2", {}, "Plans"), plansBox, el("h2", {}, "Tariffs"), tariffsBox);

function targets(t) {
  return [...(t.station_ids || []).map((s) => badge(s)), ...(t.tags || []).map((s) => badge("tag " + s))];
}

function limits(profile) {
  const s = profile.chargingSchedule || {};
  return (s.chargingSchedulePeriod || []).map((p) => p.limit + " " + s.chargingRateUnit).join(", ");
}

async function statusOf(kind, id) {
  const rows = await api(`/${kind}/${id}/status`);
  const counts = {};
  for (const r of rows) counts[r.state || "none"] = (counts[r.state || "none"] || 0) + 1;
  return Object.entries(counts).map(([k, n]) => el("span", {}, stateBadge(k), n, " "));
}

async function load() {
  const [plans, tariffs] = await Promise.all([api("/plans"), api("/tariffs")]);
  plansBox.replaceChildren(plans.length ? el("table", {},
    el("thead", {}, el("tr", {}, ...["id", "name", "targets", "connector", "limits", "enabled", "delivery"].map((h) => el("th", {}, h)))),
    el("tbody", {}, await Promise.all(plans.map(async (p) => el("tr", {},
      el("td", {}, p.id), el("td", {}, p.name), el("td", {}, targets(p.targets)), el("td", {}, p.connector_id),
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
