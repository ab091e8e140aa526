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

const short = (id) => (id && id.length > 20 ? `${id.slice(0, 12)}…${id.slice(-6)}` : id);
const fmt = (x, d = 4) => (typeof x === "number" ? x.toFixed(d) : String(x));
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

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
  try { data = await api(`/v1/graph?${q}`); } catch (e) { $("graph-status").textContent = ""; return showError(e, $("graph-status")); }
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
      label: short(n.node_id), meta: n,
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
  window.meshDashboard.renderMs = ms;
  window.meshDashboard.phases = { fetch: tFetched - t0, build: tBuilt - tFetched, layout: tLaid - tBuilt, draw: performance.now() - tLaid };
  $("graph-status").textContent = `${g.order} nodes, ${g.size} edges in view (${ms.toFixed(0)} ms)`;
  $("graph-status").dataset.nodes = String(g.order);
}

async function showNode(n, scope, from) {
  const d = $("node-details");
  d.innerHTML = `<h3>${esc(short(n.node_id))}</h3><p><code>${esc(n.node_id)}</code></p>
    <table class="kv"><tr><td>level</td><td>${esc(n.level)}</td></tr><tr><td>hops</td><td>${n.hops}</td></tr>
    <tr><td>score</td><td>${fmt(n.score)}</td></tr><tr><td>inbound trust</td><td>${fmt(n.inbound_trust || 0)}</td></tr></table>
    <div id="node-path">loading path…</div>`;
  if (n.hops === 0) { $("node-path").textContent = "the viewpoint"; return; }
  const q = new URLSearchParams({ target: n.node_id, scope });
  if (from) q.set("from", from);
  try { renderPath(await api(`/v1/trust/path?${q}`), $("node-path")); } catch (e) { showError(e, $("node-path")); }
}

function renderPath(p, el) {
  if (!p.found) { el.innerHTML = `<p class="alert">No path: ${esc(p.reason)}</p>`; el.dataset.found = "false"; return; }
  el.dataset.found = "true";
  el.innerHTML = `<p>score <b>${fmt(p.score, 6)}</b>, level <b>${esc(p.level)}</b>, ${p.hops} hop(s)</p>` +
    p.path.map((e, i) => `<div class="path-edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}">${i + 1}. ${esc(short(e.from))} → ${esc(short(e.to))} — ${esc(e.level)} ${fmt(e.score, 3)} <span title="statement">${esc((e.statement || "").slice(0, 12))}</span></div>`).join("");
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
    ["max gini (policy in force)", `${fmt(m.max_gini, 2)} — ${esc(m.max_gini_source || "local")}`],
    ["local overrides", (m.policy_overrides || []).length ? esc(m.policy_overrides.join(", ")) : "none"]];
  $("scope-metrics").innerHTML = rows.map(([k, v]) => `<tr><td>${k}</td><td data-key="${k}">${v}</td></tr>`).join("");
  const alert = $("scope-alert");
  alert.classList.toggle("hidden", !m.alert);
  alert.textContent = m.alert || "";
  const nodes = m.nodes || [];
  const top = (key) => [...nodes].sort((a, b) => b[key] - a[key] || (a.node_id < b.node_id ? -1 : 1)).slice(0, 10);
  $("top-inbound").innerHTML = top("inbound_trust").map((n) => `<li>${esc(short(n.node_id))} ${fmt(n.inbound_trust)}</li>`).join("");
  $("top-betweenness").innerHTML = top("betweenness").map((n) => `<li>${esc(short(n.node_id))} ${fmt(n.betweenness, 1)}</li>`).join("");
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
$("path-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const target = $("path-target").value.trim(), scope = $("path-scope").value.trim() || "global";
  const from = $("path-from").value.trim();
  const el = $("path-result");
  if (!target) { el.textContent = "Enter a Node ID or did:key."; return; }
  el.textContent = "…";
  const q = new URLSearchParams({ target, scope });
  if (from) q.set("from", from);
  try { renderPath(await api(`/v1/trust/path?${q}`), el); } catch (e) { showError(e, el); }
});

// ---- peers and audit -------------------------------------------------------------
async function loadPeers() {
  const el = $("peers");
  try {
    const d = await api("/v1/peers");
    const peers = d.peers || [];
    el.innerHTML = peers.length ? `<table class="list"><tr><th>peer</th><th>URL</th><th>level</th><th>last sync</th><th>lag</th><th>last error</th></tr>` +
      peers.map((p) => `<tr><td>${esc(short(p.node_id || ""))}</td><td>${esc(p.url)}</td><td>${esc(p.level || "")}</td><td>${p.last_sync ? new Date(p.last_sync * 1000).toISOString() : "never"}</td><td>${p.lag ?? ""}</td><td>${esc(p.last_error || "")}</td></tr>`).join("") + "</table>"
      : "<p>No peers yet: <code>mesh peer add URL</code>.</p>";
    el.innerHTML += `<p>Kernel denials since start: ${d.kernel_rate_limited ?? 0} rate-limited, ${d.kernel_denied ?? 0} denied.</p>`;
  } catch (e) { showError(e, el); }
}

async function loadAudit() {
  const el = $("audit");
  try {
    const d = await api("/v1/log?limit=50");
    const row = (s) => `<tr><td>${esc((s.id || "").slice(0, 12))}</td><td>${esc(short(s.iss))}</td><td>${s.seq}</td><td>${esc(s.type)}</td><td>${s.ts}</td><td>${esc(s.reason || "")}</td></tr>`;
    el.innerHTML = `<h3>Recent statements</h3><table class="list">${(d.statements || []).map(row).join("")}</table>` +
      `<h3>Refused statements (since the node started)</h3><table class="list">${(d.refused || []).map((x) => `<tr><td>${esc(x.reason)}</td><td>${x.count}</td></tr>`).join("")}</table>` +
      `<h3>Forks (equivocation)</h3><table class="list">${(d.forks || []).map((f) => `<tr><td>${esc(short(f.iss))}</td><td>seq ${f.seq}</td><td>${esc(f.a.slice(0, 12))}</td><td>${esc(f.b.slice(0, 12))}</td></tr>`).join("") || "<tr><td>none</td></tr>"}</table>`;
  } catch (e) { showError(e, el); }
}

// ---- start ----------------------------------------------------------------------
(async () => {
  try {
    const id = await api("/v1/id");
    $("whoami").textContent = `${id.node_id} · ${id.version || ""}`;
    const alarm = $("theft-alarm");
    if (alarm && id.theft_alarm > 0) {
      alarm.textContent = `Theft alarm: ${id.theft_alarm} statement(s) in this node's own feed were not signed by its home — identity.key may be stolen. Run \`mesh key status\` and rotate with next.key.`;
      alarm.classList.remove("hidden");
    }
  } catch (e) { return showError(e); }
  if (!token()) { banner("No access token: open the URL that `mesh node start` printed (it ends in #token=…)."); return; }
  await loadGraph();
  loadScope();
})();
