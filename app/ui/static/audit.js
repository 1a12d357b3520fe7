// The audit trail: OCPP frames of one station or the whole fleet, each CALL beside its answer.
"use strict";

const app = document.getElementById("app");
const params = new URLSearchParams(location.search);
const station = el("input", { placeholder: "station id", value: params.get("station_id") || "", id: "audit-station" });
const action = el("input", { placeholder: "action", value: params.get("action") || "", id: "audit-action" });
const more = el("button", { onclick: () => load(false) }, "older ›");
const tbody = el("tbody");
let cursor = null;
app.append(
  el("div", { class: "toolbar" }, station, action, el("button", { onclick: () => load(true) }, "show"), more),
  el("table", { id: "audit" },
    el("thead", {}, el("tr", {}, ...["time", "station", "action", "CALL", "answer"].map((h) => el("th", {}, h)))),
    tbody));

function frame(item) {
  if (!item) return el("span", { class: "muted" }, "no answer on this page");
  const head = item.direction === "in" ? "⇐ " : "⇒ ";
  return el("div", {}, head, item.message_type === "CALLERROR" ? badge(item.error_code, "bad") : badge(item.message_type),
    el("pre", {}, item.payload === null ? (item.raw || "") : JSON.stringify(item.payload)));
}

async function load(fresh) {
  if (fresh) { cursor = null; tbody.replaceChildren(); }
  const query = new URLSearchParams({ limit: 200 });
  if (station.value) query.set("station_id", station.value);
  if (action.value) query.set("action", action.value);
  if (cursor) query.set("cursor", cursor);
  const page = await api("/audit?" + query);
  cursor = page.next_cursor;
  more.disabled = !cursor;
  // Pair each CALL with the answer of the same station and unique id.
  const answers = new Map();
  for (const item of page.items) if (item.message_type !== "CALL") answers.set(item.station_id + "|" + item.unique_id, item);
  for (const item of page.items) {
    if (item.message_type === "CALL" || item.message_type === "INVALID") {
      tbody.append(el("tr", {}, el("td", { class: "muted" }, when(item.ts)), el("td", {}, item.station_id),
        el("td", {}, item.action || "–"), el("td", {}, frame(item)),
        el("td", {}, item.message_type === "CALL" ? frame(answers.get(item.station_id + "|" + item.unique_id)) : "")));
    }
  }
}

load(true).catch((e) => tbody.replaceChildren(el("tr", {}, el("td", {}, "failed: " + e.message))));
