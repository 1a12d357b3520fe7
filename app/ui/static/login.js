// Ask for an API key; the server keeps it in an HttpOnly, SameSite=Strict cookie.
"use strict";

const app = document.getElementById("app");
const key = el("input", { type: "password", id: "api-key", placeholder: "cpk_...", size: 50, autocomplete: "off" });
const message = el("div", { class: "muted", id: "login-message" },
  "API keys are on: sign in with a key (chargeplan apikey create).");
const form = el("form", { class: "card toolbar", onsubmit: (e) => {
  e.preventDefault();
  api("/ui/session", { method: "POST", body: JSON.stringify({ api_key: key.value }) }).then(() => {
    const next = new URLSearchParams(location.search).get("next");
    location.assign(next && next.startsWith("/ui") ? next : "/ui");
  }, (err) => { message.textContent = "Refused: " + err.message; message.className = "drift"; });
} }, "API key", key, el("button", { type: "submit", id: "sign-in" }, "Sign in"));
app.append(form, message);
