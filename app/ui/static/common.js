// Shared by every /ui page: REST calls, element building, the live event stream.
"use strict";

// Every request refused for want of a key leads to one sign-in page, not to several
// navigations racing each other.
let leaving = false;
function toLogin() {
  if (leaving || location.pathname.startsWith("/ui/login")) return;
  leaving = true;
  location.assign("/ui/login?next=" + encodeURIComponent(location.pathname + location.search));
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ headers: { "Content-Type": "application/json" } }, options || {}));
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
  if (response.status === 401) toLogin();
  if (!response.ok) {
    const detail = body && body.extra ? body.extra.map(x => x.key + ": " + x.message).join("; ") : (body && body.detail) || text;
    throw new Error(response.status + " " + detail);
  }
  return body;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(text, kind) { return el("span", { class: "badge " + (kind || "") }, text); }

function stateBadge(state) {
  if (!state) return badge("unverified");
  const kind = state === "verified" || state === "accepted" ? "ok"
    : state.startsWith("drift") || state === "rejected" || state === "failed" || state === "error" ? "bad" : "warn";
  return badge(state, kind);
}

function when(value) { return value ? new Date(value).toLocaleString() : "–"; }

function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// Listen to GET /events; EventSource reconnects by itself and sends Last-Event-ID.
function listen(params, onEvent) {
  const indicator = document.getElementById("live");
  const query = new URLSearchParams(params || {}).toString();
  const source = new EventSource("/events" + (query ? "?" + query : ""));
  source.onopen = () => { indicator.textContent = "live"; indicator.className = "live on"; };
  source.onerror = () => {
    indicator.textContent = "reconnecting"; indicator.className = "live off";
    // Refused (no or a revoked key): EventSource gives up; ask who we are.
    if (source.readyState === EventSource.CLOSED) whoAmI();
  };
  source.onmessage = (m) => onEvent(JSON.parse(m.data));
  const types = ["station.connected", "station.disconnected", "station.booted", "connector.status",
    "transaction.started", "transaction.stopped", "meter.sample", "profile.stored", "profile.delivered",
    "profile.accepted", "profile.rejected", "profile.failed", "verification.verified", "verification.drift",
    "verification.repaired", "verification.unverifiable", "plan.applied", "tariff.applied", "job.finished",
    "security.event", "listener.dropped"];
  for (const type of types) source.addEventListener(type, (m) => onEvent(JSON.parse(m.data)));
  return source;
}

function confirmAndRun(question, action) {
  if (!window.confirm(question)) return;
  action().then((r) => window.alert(r || "done"), (e) => window.alert("failed: " + e.message));
}

// Who the page acts as: with API keys on, a key kept in an HttpOnly cookie; the page
// shows only what the key's role may do (body[data-role]).
async function whoAmI() {
  const session = await api("/ui/session");
  if (session.auth && !session.role) {
    toLogin();
    return session;
  }
  document.body.dataset.role = session.role || "";
  const who = document.getElementById("who");
  const out = document.getElementById("sign-out");
  if (session.auth && session.role) {
    who.textContent = session.name + " (" + session.role + ")";
    out.hidden = false;
    out.onclick = () => {
      leaving = true;  // a request refused once the key is gone must not send us back here
      api("/ui/session", { method: "DELETE" }).then(() => location.assign("/ui/login"));
    };
  }
  return session;
}
whoAmI();
