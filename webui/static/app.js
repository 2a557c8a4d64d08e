// Berth web UI: login page and session list. Plain JavaScript, no build.
"use strict";

const API = "/api/v1";
const $ = (sel) => document.querySelector(sel);

// api calls the REST API with the login cookie; it returns the decoded JSON
// (or null for 204) and throws an Error carrying the problem's detail.
async function api(method, path, body) {
  const opts = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch(API + path, opts);
  if (resp.status === 204) return null;
  let data = null;
  try { data = await resp.json(); } catch (e) { /* not JSON */ }
  if (!resp.ok) {
    const err = new Error((data && (data.detail || data.title)) || resp.status + " " + resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return data;
}

// safeNext keeps only same-origin paths (e.g. /api/v1/apps/launch?host=...).
function safeNext(next) {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  return next;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return e;
}

// ---- login ----

function showLogin() {
  $("#login-view").hidden = false;
  const next = safeNext(new URLSearchParams(location.search).get("next"));
  $("#login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    $("#login-error").textContent = "";
    f.querySelector("button").disabled = true;
    try {
      await api("POST", "/auth/login", { email: f.email.value.trim(), password: f.password.value });
      location.href = next;
    } catch (e) {
      $("#login-error").textContent = e.message;
    } finally {
      f.querySelector("button").disabled = false;
    }
  });
}

// ---- sessions ----

const state = { timer: null, openApps: new Set(), apps: new Map() };

function parseMem(s) {
  s = (s || "").trim().toLowerCase();
  if (!s) return 0;
  const m = s.match(/^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/);
  if (!m) throw new Error("memory: use a number with k, m, g or t, e.g. 512m");
  const mult = { "": 1, k: 1 << 10, m: 1 << 20, g: 1 << 30, t: 2 ** 40 }[m[2]];
  return Math.round(parseFloat(m[1]) * mult);
}

function fmtTime(s) {
  if (!s) return "";
  const d = new Date(s);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

async function showSessions(me) {
  $("#sessions-view").hidden = false;
  $("#who").textContent = me.email + (me.role === "admin" ? " (admin)" : "");
  $("#logout").hidden = false;
  $("#logout").addEventListener("click", async () => {
    try { await api("POST", "/auth/logout"); } catch (e) { /* gone anyway */ }
    location.href = "/login";
  });
  $("#show-all").addEventListener("change", refresh);
  $("#create-form").addEventListener("submit", createSession);
  await refresh();
  // Live status: the manager pushes every session change as a server-sent
  // event; a slow poll covers a dropped stream.
  let pending = null;
  const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 150); };
  if (window.EventSource) {
    const es = new EventSource("/api/v1/events");
    es.addEventListener("session", soon);
    es.addEventListener("policy", soon);
    es.onopen = soon;
  }
  state.timer = setInterval(refresh, 10000);
}

async function createSession(ev) {
  ev.preventDefault();
  const f = ev.target;
  $("#create-error").textContent = "";
  const req = { image: f.image.value.trim(), type: f.type.value };
  if (f.name.value.trim()) req.name = f.name.value.trim();
  try {
    const cpu = parseFloat(f.cpu.value), mem = parseMem(f.mem.value);
    if (cpu > 0 || mem > 0) req.resources = { cpu: cpu > 0 ? cpu : 0.5, mem: mem > 0 ? mem : 256 << 20, gpu: 0 };
    f.querySelector("button").disabled = true;
    await api("POST", "/sessions", req);
    f.name.value = "";
    await refresh();
  } catch (e) {
    $("#create-error").textContent = e.message;
  } finally {
    f.querySelector("button").disabled = false;
  }
}

async function refresh() {
  try {
    const all = $("#show-all").checked ? "?all=1" : "";
    const sessions = (await api("GET", "/sessions" + all)) || [];
    $("#list-error").textContent = "";
    render(sessions);
  } catch (e) {
    if (e.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); return; }
    $("#list-error").textContent = "Cannot list sessions: " + e.message;
  }
}

function render(sessions) {
  const tbody = $("#sessions");
  tbody.replaceChildren(...sessions.map(row));
  $("#empty").hidden = sessions.length > 0;
}

function row(s) {
  const ended = ["TERMINATED", "CANCELLED", "ERROR"].includes(s.status);
  const actions = el("td", { class: "actions" });
  if (s.status === "RUNNING") {
    actions.append(el("button", { onclick: () => toggleApps(s) }, state.openApps.has(s.id) ? "Hide apps" : "Apps"));
  }
  if (!ended && s.status !== "TERMINATING") {
    actions.append(el("button", { class: "danger", onclick: () => terminate(s) }, "Terminate"));
  }
  if (state.openApps.has(s.id) && s.status === "RUNNING") {
    actions.append(appButtons(s));
  }
  return el("tr", {},
    el("td", {}, el("strong", {}, s.name), el("br"), el("code", { class: "muted" }, s.id.slice(0, 8))),
    el("td", {}, s.image),
    el("td", {}, s.type),
    el("td", {}, el("span", { class: "badge s-" + s.status }, s.status)),
    el("td", {}, s.status_info || ""),
    el("td", {}, s.agent || ""),
    el("td", {}, fmtTime(s.created_at)),
    actions);
}

function appButtons(s) {
  const box = el("div", { class: "apps" });
  const apps = state.apps.get(s.id);
  if (!apps) { box.append(el("span", { class: "muted" }, "loading…")); return box; }
  if (apps.error) { box.append(el("span", { class: "error" }, apps.error)); return box; }
  if (apps.length === 0) { box.append(el("span", { class: "muted" }, "no apps")); return box; }
  for (const a of apps) {
    box.append(el("button", { class: "primary", title: a.url, onclick: () => openApp(s, a.name) }, a.name + (a.public ? " (public)" : "")));
  }
  return box;
}

async function toggleApps(s) {
  if (state.openApps.has(s.id)) {
    state.openApps.delete(s.id);
    await refresh();
    return;
  }
  state.openApps.add(s.id);
  state.apps.delete(s.id);
  await refresh();
  try {
    state.apps.set(s.id, (await api("GET", "/sessions/" + s.id + "/apps")) || []);
  } catch (e) {
    state.apps.set(s.id, { error: e.message });
  }
  await refresh();
}

// openApp opens the app in a new tab with a fresh one-time open_url. The tab
// is opened before the request so that popup blockers allow it.
async function openApp(s, name) {
  const win = window.open("about:blank", "_blank");
  try {
    const apps = (await api("GET", "/sessions/" + s.id + "/apps")) || [];
    const a = apps.find((x) => x.name === name);
    if (!a) throw new Error("app " + name + " is gone");
    if (win) { win.opener = null; win.location.href = a.open_url; } else { location.href = a.open_url; }
  } catch (e) {
    if (win) win.close();
    $("#list-error").textContent = "Cannot open " + name + ": " + e.message;
  }
}

async function terminate(s) {
  if (!confirm("Terminate session " + s.name + "?")) return;
  try {
    await api("DELETE", "/sessions/" + s.id);
  } catch (e) {
    $("#list-error").textContent = "Cannot terminate " + s.name + ": " + e.message;
  }
  await refresh();
}

// ---- start ----

async function main() {
  if (location.pathname === "/login") { showLogin(); return; }
  try {
    const me = await api("GET", "/auth/me");
    await showSessions(me);
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      return;
    }
    document.body.append(el("main", {}, el("p", { class: "error card" }, "Cannot reach the API: " + e.message)));
  }
}

main();
