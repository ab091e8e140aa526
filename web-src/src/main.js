// meshtrust dashboard: talks to the node's JSON API with the bearer token
// taken from the URL fragment (#token=…), which never leaves the browser
// except as the Authorization header. Once read, the token is kept for this
// tab only (sessionStorage, so a reload still works) and removed from the
// address bar, so it does not linger in history, bookmarks or screen shares.
import Graph from "graphology";
import Sigma from "sigma";
import forceAtlas2 from "graphology-layout-forceatlas2";
import FA2Layout from "graphology-layout-forceatlas2/worker";
import "./style.css";

const $ = (id) => document.getElementById(id);
const COLORS = { full: "#1b7f3b", limited: "#d08a00", self: "#1f5fbf" };

const TOKEN_KEY = "mesh-token";
let memToken = ""; // when sessionStorage is unavailable

// Take #token=… out of the URL: remember it, then replace the address without
// it (keeping any other part of the fragment). Runs at load and whenever the
// fragment changes (a new URL pasted into this tab).
function takeTokenFromUrl() {
  const m = /(?:^|[#&])token=([0-9a-fA-F]+)/.exec(location.hash);
  if (!m) return;
  memToken = m[1];
  try { sessionStorage.setItem(TOKEN_KEY, m[1]); } catch { /* memory only */ }
  const rest = location.hash.slice(1).split("&").filter((p) => p && !p.startsWith("token=")).join("&");
  history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}
takeTokenFromUrl();
window.addEventListener("hashchange", takeTokenFromUrl);

function token() {
  let t = "";
  try { t = sessionStorage.getItem(TOKEN_KEY) || ""; } catch { /* memory only */ }
  return t || memToken;
}

class ApiError extends Error {
  constructor(kind, message, status) { super(message); this.kind = kind; this.status = status; }
}

async function api(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  } catch (e) {
    throw new ApiError("unreachable", `Cannot reach the node (${e.message}). Is \`mesh node start\` running?`);
  }
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (res.status === 401) throw new ApiError("token", "The node refused the access token: open the URL that `mesh node start` printed (it ends in #token=…).", 401);
  if (!res.ok) throw new ApiError("http", (body && body.error) || `HTTP ${res.status}`, res.status);
  return body;
}

function banner(msg) {
  const b = $("banner");
  if (!msg) { b.classList.add("hidden"); b.textContent = ""; return; }
  b.textContent = msg;
  b.classList.remove("hidden");
}

function showError(e, where) {
  if (e.kind === "unreachable" || e.kind === "token") banner(e.message);
  else if (where) where.textContent = `Error: ${e.message}`;
  else banner(e.message);
}

const fmt = (x, d = 4) => (typeof x === "number" ? x.toFixed(d) : String(x));

// Build an element: attributes set as properties/attributes, children appended
// as text nodes (strings, numbers) or elements. Everything that came from the
// network goes in through here or textContent, never as HTML.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("data-")) el.dataset[k.slice(5).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = String(v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ---- names (the home's petnames, GET /v1/names) ------------------------------
// Node ID -> name. Names are local (set with `mesh name set ID NAME`); a node
// that does not offer /v1/names simply shows IDs.
let names = new Map();
async function loadNames() {
  try {
    const d = await api("/v1/names");
    names = new Map(Object.entries((d && d.names) || {}).filter(([, v]) => typeof v === "string"));
  } catch (e) {
    if (e.kind === "unreachable" || e.kind === "token") throw e;
    names = new Map();
  }
}
const nameOf = (id) => (id ? names.get(id) : undefined);
// A short form of an ID: the 6 characters after the common "12D3KooW" prefix.
function shortId(id) {
  if (!id) return "";
  const s = String(id);
  if (s.startsWith("12D3KooW") && s.length > 14) return `${s.slice(8, 14)}…`;
  return s.length > 20 ? `${s.slice(0, 12)}…` : s;
}
// The label of an ID where space is short (graph labels, lists): its name, else
// the short form.
const label = (id) => nameOf(id) || shortId(id);
// An ID as an element: the name (with the short ID) or the short ID, and the
// full ID in the tooltip.
function idEl(id) {
  const n = nameOf(id);
  return h("span", { class: n ? "id named" : "id", title: id || "", "data-id": id || "" },
    n ? [h("b", {}, n), " ", h("span", { class: "sid" }, shortId(id))] : shortId(id));
}

// ---- tabs -------------------------------------------------------------------
for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("nav button")) o.classList.toggle("active", o === b);
    for (const s of document.querySelectorAll(".tab")) s.classList.toggle("hidden", s.id !== `tab-${b.dataset.tab}`);
    if (b.dataset.tab === "peers") loadPeers();
    if (b.dataset.tab === "audit") loadAudit();
  });
}

// ---- graph ------------------------------------------------------------------
let renderer = null;
let layout = null; // background ForceAtlas2 for large views
window.meshDashboard = { renderedNodes: 0, renderMs: 0, gini: null };

async function loadGraph() {
  const from = $("graph-from").value.trim();
  const scope = $("graph-scope").value.trim() || "global";
  const depth = $("graph-depth").value || "2";
  const q = new URLSearchParams({ scope, depth });
  if (from) q.set("from", from);
  $("graph-status").textContent = "loading…";
  const t0 = performance.now();
  let data;
  try { await loadNames(); data = await api(`/v1/graph?${q}`); } catch (e) { $("graph-status").textContent = ""; return showError(e, $("graph-status")); }
  const tFetched = performance.now();
  banner(null);
  $("digest").textContent = `digest ${data.digest.slice(0, 16)}…`;
  const g = new Graph({ type: "directed", multi: false });
  const maxIn = Math.max(1, ...data.nodes.map((n) => n.inbound_trust || 0));
  data.nodes.forEach((n, i) => {
    const angle = (2 * Math.PI * i * 0.618034) % (2 * Math.PI);
    const r = n.hops ? n.hops + ((i * 7919) % 100) / 150 : 0;
    g.addNode(n.node_id, {
      x: r * Math.cos(angle) + Math.random() * 0.01, y: r * Math.sin(angle) + Math.random() * 0.01,
      size: 3 + 12 * Math.sqrt((n.inbound_trust || 0) / maxIn),
      color: n.hops === 0 ? COLORS.self : COLORS[n.level] || "#888",
      label: label(n.node_id), meta: n,
    });
  });
  for (const e of data.edges) {
    if (!g.hasNode(e.from) || !g.hasNode(e.to) || g.hasEdge(e.from, e.to)) continue;
    g.addEdge(e.from, e.to, { size: 0.5 + 2 * e.score, color: e.level === "full" ? "#9cc9a9" : "#e8c98c", meta: e });
  }
  const tBuilt = performance.now();
  if (layout) { layout.kill(); layout = null; }
  // Small views are laid out before drawing; large ones are drawn at once from
  // the hop rings and refined by ForceAtlas2 in a web worker for a few seconds.
  const large = g.order > 1000;
  if (g.order > 1 && !large) forceAtlas2.assign(g, { iterations: 80, settings: forceAtlas2.inferSettings(g) });
  const tLaid = performance.now();
  if (renderer) renderer.kill();
  renderer = new Sigma(g, $("sigma"), { renderEdgeLabels: false, defaultEdgeType: "arrow", labelRenderedSizeThreshold: 8 });
  renderer.on("clickNode", ({ node }) => showNode(g.getNodeAttribute(node, "meta"), scope, from));
  if (large) {
    layout = new FA2Layout(g, { settings: { ...forceAtlas2.inferSettings(g), barnesHutOptimize: true } });
    layout.start();
    const mine = layout;
    setTimeout(() => { if (layout === mine) layout.stop(); }, 4000);
  }
  await new Promise((r) => requestAnimationFrame(() => r()));
  const ms = performance.now() - t0;
  window.meshDashboard.renderedNodes = g.order;
  window.meshDashboard.labelOf = (id) => (g.hasNode(id) ? g.getNodeAttribute(id, "label") : null);
  window.meshDashboard.renderMs = ms;
  window.meshDashboard.phases = { fetch: tFetched - t0, build: tBuilt - tFetched, layout: tLaid - tBuilt, draw: performance.now() - tLaid };
  $("graph-status").textContent = `${g.order} nodes, ${g.size} edges in view (${ms.toFixed(0)} ms)`;
  $("graph-status").dataset.nodes = String(g.order);
}

async function showNode(n, scope, from) {
  const d = $("node-details");
  const pathEl = h("div", { id: "node-path" }, "loading path…");
  d.replaceChildren(
    h("h3", {}, idEl(n.node_id)), h("p", {}, h("code", {}, n.node_id)),
    h("table", { class: "kv" },
      h("tr", {}, h("td", {}, "level"), h("td", {}, n.level)), h("tr", {}, h("td", {}, "hops"), h("td", {}, n.hops)),
      h("tr", {}, h("td", {}, "score"), h("td", {}, fmt(n.score))),
      h("tr", {}, h("td", {}, "inbound trust"), h("td", {}, fmt(n.inbound_trust || 0)))),
    pathEl);
  if (n.hops === 0) { pathEl.textContent = "the viewpoint"; return; }
  const q = new URLSearchParams({ target: n.node_id, scope });
  if (from) q.set("from", from);
  try { renderPath(await api(`/v1/trust/path?${q}`), pathEl); } catch (e) { showError(e, pathEl); }
}

function renderPath(p, el) {
  if (!p.found) {
    el.replaceChildren(h("p", { class: "alert" }, `No path: ${p.reason}`));
    el.dataset.found = "false";
    return;
  }
  el.dataset.found = "true";
  el.replaceChildren(
    h("p", {}, "score ", h("b", {}, fmt(p.score, 6)), ", level ", h("b", {}, p.level), `, ${p.hops} hop(s)`),
    ...p.path.map((e, i) => h("div", { class: "path-edge", "data-from": e.from, "data-to": e.to },
      `${i + 1}. `, idEl(e.from), " → ", idEl(e.to), ` — ${e.level} ${fmt(e.score, 3)} `,
      h("span", { title: "statement" }, String(e.statement || "").slice(0, 12)))));
}

$("graph-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadGraph(); });

// ---- scopes -------------------------------------------------------------------
async function loadScope() {
  const scope = $("scope-name").value.trim() || "global";
  let m;
  try { m = await api(`/v1/metrics?${new URLSearchParams({ scope, per_node: "1" })}`); } catch (e) { return showError(e, $("scope-metrics")); }
  banner(null);
  window.meshDashboard.gini = m.gini;
  const rows = [["nodes", m.node_count], ["total inbound trust", fmt(m.total_inbound_trust)], ["gini", fmt(m.gini, 6)],
    ["top 10% share", fmt(m.top_10_percent_share)], ["betweenness max", fmt(m.betweenness.max)],
    ["betweenness mean", fmt(m.betweenness.mean)], ["betweenness std dev", fmt(m.betweenness.std_dev)],
    ["max gini (policy in force)", `${fmt(m.max_gini, 2)} — ${m.max_gini_source || "local"}`],
    ["local overrides", (m.policy_overrides || []).length ? m.policy_overrides.join(", ") : "none"]];
  $("scope-metrics").replaceChildren(...rows.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", { "data-key": k }, v))));
  const alert = $("scope-alert");
  alert.classList.toggle("hidden", !m.alert);
  alert.textContent = m.alert || "";
  const nodes = m.nodes || [];
  const top = (key) => [...nodes].sort((a, b) => b[key] - a[key] || (a.node_id < b.node_id ? -1 : 1)).slice(0, 10);
  $("top-inbound").replaceChildren(...top("inbound_trust").map((n) => h("li", {}, idEl(n.node_id), ` ${fmt(n.inbound_trust)}`)));
  $("top-betweenness").replaceChildren(...top("betweenness").map((n) => h("li", {}, idEl(n.node_id), ` ${fmt(n.betweenness, 1)}`)));
  drawLorenz(nodes.map((n) => n.inbound_trust).sort((a, b) => a - b));
}

function drawLorenz(xs) {
  const c = $("lorenz"), ctx = c.getContext("2d"), W = c.width, H = c.height, pad = 30;
  ctx.clearRect(0, 0, W, H);
  ctx.strokeStyle = "#999"; ctx.strokeRect(pad, pad, W - 2 * pad, H - 2 * pad);
  ctx.beginPath(); ctx.moveTo(pad, H - pad); ctx.lineTo(W - pad, pad); ctx.stroke();
  const total = xs.reduce((a, b) => a + b, 0);
  if (!xs.length || total <= 0) return;
  ctx.strokeStyle = "#1f5fbf"; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(pad, H - pad);
  let acc = 0;
  xs.forEach((x, i) => { acc += x; ctx.lineTo(pad + ((i + 1) / xs.length) * (W - 2 * pad), H - pad - (acc / total) * (H - 2 * pad)); });
  ctx.stroke(); ctx.lineWidth = 1;
  ctx.fillStyle = "#333"; ctx.fillText("share of nodes →", W / 2 - 40, H - 8); ctx.fillText("share of trust", 4, 18);
}

$("scope-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadScope(); });

// ---- path explorer --------------------------------------------------------------
// "@name" in the From/Target fields stands for the ID with that local name.
function resolveId(text) {
  if (!text.startsWith("@")) return text;
  for (const [id, n] of names) if (n === text.slice(1)) return id;
  return null;
}

let lastPathQuery = null; // the query of the path shown, for "Download proof"

$("path-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const el = $("path-result");
  $("path-proof").classList.add("hidden");
  $("path-proof-status").textContent = "";
  lastPathQuery = null;
  const targetText = $("path-target").value.trim(), scope = $("path-scope").value.trim() || "global";
  const fromText = $("path-from").value.trim();
  if (!targetText) { el.textContent = "Enter a Node ID, did:key or @name."; return; }
  el.textContent = "…";
  delete el.dataset.found;
  try { await loadNames(); } catch (e) { return showError(e, el); }
  const target = resolveId(targetText), from = fromText ? resolveId(fromText) : "";
  if (target === null || from === null) { el.textContent = `No such name: ${target === null ? targetText : fromText}`; return; }
  const q = new URLSearchParams({ target, scope });
  if (from) q.set("from", from);
  let p;
  try { p = await api(`/v1/trust/path?${q}`); } catch (e) { return showError(e, el); }
  renderPath(p, el);
  if (p.found) {
    lastPathQuery = q;
    $("path-proof").classList.remove("hidden");
  }
});

// The portable proof of the path shown (SPEC §9.6): fetched with the bearer
// header (a plain link could not carry it) and saved from a Blob.
$("path-proof").addEventListener("click", async () => {
  const status = $("path-proof-status");
  if (!lastPathQuery) return;
  const q = new URLSearchParams(lastPathQuery);
  q.set("proof", "1");
  status.textContent = "…";
  let res;
  try {
    res = await fetch(`/v1/trust/path?${q}`, { headers: { Authorization: `Bearer ${token()}` } });
  } catch (e) {
    status.textContent = "";
    return showError(new ApiError("unreachable", `Cannot reach the node (${e.message}). Is \`mesh node start\` running?`));
  }
  if (!res.ok) {
    let msg = `HTTP ${res.status}`;
    try { const b = await res.json(); if (b && b.error) msg = b.error; } catch { /* not JSON */ }
    status.textContent = `Error: ${msg}`;
    return;
  }
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: `proof-${shortId(q.get("target")).replace(/…$/, "")}.ndjson`, class: "hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  status.textContent = `saved (${blob.size} bytes); check it with mesh proof verify FILE`;
});

// ---- peers and audit -------------------------------------------------------------
const table = (head, rows) => h("table", { class: "list" }, head ? h("tr", {}, head.map((t) => h("th", {}, t))) : null,
  rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c)))));

async function loadPeers() {
  const el = $("peers");
  try {
    await loadNames();
    const d = await api("/v1/peers");
    const peers = d.peers || [];
    el.replaceChildren(
      peers.length
        ? table(["peer", "URL", "level", "last sync", "lag", "last error"], peers.map((p) => [
          idEl(p.node_id || ""), p.url, p.level || "", p.last_sync ? new Date(p.last_sync * 1000).toISOString() : "never",
          p.lag ?? "", p.last_error || ""]))
        : h("p", {}, "No peers yet: ", h("code", {}, "mesh peer add URL"), "."),
      h("p", {}, `Kernel denials since start: ${d.kernel_rate_limited ?? 0} rate-limited, ${d.kernel_denied ?? 0} denied.`));
  } catch (e) { showError(e, el); }
}

async function loadAudit() {
  const el = $("audit");
  try {
    await loadNames();
    const d = await api("/v1/log?limit=50");
    const forks = d.forks || [];
    el.replaceChildren(
      h("h3", {}, "Recent statements"),
      table(null, (d.statements || []).map((s) => [String(s.id || "").slice(0, 12), idEl(s.iss), s.seq, s.type, s.ts, s.reason || ""])),
      h("h3", {}, "Refused statements (since the node started)"),
      table(null, (d.refused || []).map((x) => [x.reason, x.count])),
      h("h3", {}, "Forks (equivocation)"),
      table(null, forks.length ? forks.map((f) => [idEl(f.iss), `seq ${f.seq}`, String(f.a).slice(0, 12), String(f.b).slice(0, 12)]) : [["none"]]));
  } catch (e) { showError(e, el); }
}

// ---- start ----------------------------------------------------------------------
(async () => {
  try {
    const id = await api("/v1/id");
    $("whoami").textContent = `${id.node_id} · ${id.version || ""}`;
    $("whoami").dataset.id = id.node_id;
    const alarm = $("theft-alarm");
    if (alarm && id.theft_alarm > 0) {
      alarm.textContent = `Theft alarm: ${id.theft_alarm} statement(s) in this node's own feed were not signed by its home — identity.key may be stolen. Run \`mesh key status\` and rotate with next.key.`;
      alarm.classList.remove("hidden");
    }
  } catch (e) { return showError(e); }
  if (!token()) { banner("No access token: open the URL that `mesh node start` printed (it ends in #token=…)."); return; }
  try { await loadNames(); } catch (e) { return showError(e); }
  const me = $("whoami");
  if (nameOf(me.dataset.id)) me.textContent = `${nameOf(me.dataset.id)} · ${me.textContent}`;
  await loadGraph();
  loadScope();
})();
