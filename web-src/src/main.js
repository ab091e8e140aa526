// meshtrust dashboard: talks to the node's JSON API with the bearer token
// taken from the URL fragment (#token=…), which never leaves the browser
// except as the Authorization header. Once read, the token is kept for this
// tab only (sessionStorage, so a reload still works) and removed from the
// address bar, so it does not linger in history, bookmarks or screen shares.
import Graph from "graphology";
import Sigma from "sigma";
import forceAtlas2 from "graphology-layout-forceatlas2";
import { EdgeCurvedArrowProgram } from "@sigma/edge-curve";
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
  for (const c of children.flat(Infinity)) {
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

// ---- small helpers ------------------------------------------------------------
const isoOf = (ts) => (Number.isFinite(ts) ? new Date(ts * 1000).toISOString().replace(".000Z", "Z") : "");
const table = (head, rows, rowAttrs) => h("table", { class: "list" }, head ? h("tr", {}, head.map((t) => h("th", {}, t))) : null,
  rows.map((cells, i) => h("tr", rowAttrs ? rowAttrs(i) : {}, cells.map((c) => h("td", {}, c)))));
let selfId = "";
let digestNow = "";
function setDigest(d) {
  if (!d) return;
  digestNow = d;
  $("digest").textContent = `digest ${d.slice(0, 16)}…`;
  $("digest").dataset.digest = d;
}

// ---- filters (level, minimum score, hops): the graph and the lists ---------------
function filters() {
  const min = Number($("f-min").value);
  const hops = Math.max(1, Math.min(8, Number($("graph-depth").value) || 2));
  return { level: $("f-level").value, min: Number.isFinite(min) ? min : 0, hops };
}
// Does an entry {level, score, hops} pass the filters? (The viewpoint always does.)
function passes(x, f = filters()) {
  if (x.hops === 0 || x.level === "self") return true;
  if (f.level !== "any" && x.level !== f.level) return false;
  if ((x.score ?? x.trust ?? 0) < f.min) return false;
  if (typeof x.hops === "number" && x.hops > f.hops) return false;
  return true;
}

// ---- tabs -------------------------------------------------------------------
let currentTab = "graph";
const FILTERED_TABS = new Set(["graph", "search", "time"]);
function showTab(tab) {
  const leaving = currentTab;
  currentTab = tab;
  for (const o of document.querySelectorAll("nav button")) o.classList.toggle("active", o.dataset.tab === tab);
  for (const s of document.querySelectorAll(".tab")) s.classList.toggle("hidden", s.id !== `tab-${tab}`);
  $("filters").classList.toggle("hidden", !FILTERED_TABS.has(tab));
  if (leaving === "graph" && tab !== "graph") graphHidden();
  if (tab === "graph") graphShown();
  if (tab === "peers") loadPeers();
  if (tab === "audit") loadAudit();
  if (tab === "communities") loadCommunities();
  if (tab === "time" && !$("time-result").dataset.at) initTime();
  if (tab === "scopes" && !$("compare").dataset.done) loadCompare();
  if (tab === "scopes" && !$("scope-metrics").childElementCount) loadScope();
}
for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => showTab(b.dataset.tab));

// ---- graph ------------------------------------------------------------------
// The renderer exists only while its container is visible and sized: a graph
// loaded while another tab is open waits (pending) until the graph tab shows.
let renderer = null;
let layout = null; // background ForceAtlas2 for large views (src/fa2.worker.js)

// Lay `g` out in a worker for `ms`, moving the nodes as batches come back.
function startLayout(g, ms) {
  const worker = new Worker(new URL("./fa2.worker.js", import.meta.url), { type: "module" });
  const ids = g.nodes();
  const index = new Map(ids.map((id, i) => [id, i]));
  const xy = new Float32Array(ids.length * 2), size = new Float32Array(ids.length);
  ids.forEach((id, i) => { const a = g.getNodeAttributes(id); xy[2 * i] = a.x; xy[2 * i + 1] = a.y; size[i] = a.size; });
  const edges = new Uint32Array(g.size * 2), weights = new Float32Array(g.size);
  let k = 0;
  g.forEachEdge((e, a, s, t) => { edges[2 * k] = index.get(s); edges[2 * k + 1] = index.get(t); weights[k++] = a.meta.score; });
  const l = {
    stop() { worker.postMessage({ type: "stop" }); },
    kill() { worker.terminate(); },
  };
  worker.onmessage = (ev) => {
    if (ev.data.type === "done") { worker.terminate(); if (layout === l) layout = null; return; }
    const p = ev.data.xy;
    g.updateEachNodeAttributes((id, a) => { const i = index.get(id); a.x = p[2 * i]; a.y = p[2 * i + 1]; return a; }, { attributes: ["x", "y"] });
  };
  worker.onerror = () => { worker.terminate(); if (layout === l) layout = null; };
  worker.postMessage({ type: "start", ids, xy, size, edges, weights, ms });
  return l;
}
let shownGraph = null; // {g, scope, from, data, first}
let pending = null;
let graphStale = false;
let hoveredEdge = null;
window.meshDashboard = { renderedNodes: 0, renderMs: 0, gini: null, firstView: null, visibleNodes: 0 };

const sigmaVisible = () => { const el = $("sigma"); return el.offsetWidth > 0 && el.offsetHeight > 0; };

function graphHidden() {
  if (layout) { layout.stop(); layout.kill(); layout = null; }
  $("edge-tip").classList.add("hidden");
}
function graphShown() {
  if (renderer && shownGraph && shownGraph.large && !renderer.getSetting("enableEdgeEvents")) renderer.setSetting("enableEdgeEvents", true);
  if (pending) { const p = pending; pending = null; mountGraph(p); return; }
  if (graphStale) { graphStale = false; loadGraph(); return; }
  if (renderer && sigmaVisible()) { renderer.resize(); renderer.refresh(); }
}

// The text of an edge's tooltip (hover).
function edgeText(g, e) {
  const [a, b] = g.extremities(e);
  const m = g.getEdgeAttribute(e, "meta");
  const back = g.hasEdge(b, a) ? g.getEdgeAttribute(g.edge(b, a), "meta") : null;
  return `${label(a)} → ${label(b)}: ${m.level} ${fmt(m.score, 3)}` + (back ? ` (back: ${back.level} ${fmt(back.score, 3)})` : "");
}

// One load per (viewpoint, scope, hops) at a time; a newer load supersedes an
// older one still in flight.
let inflight = null;
let loadGen = 0;
function loadGraph() {
  const key = [$("graph-from").value.trim(), $("graph-scope").value.trim() || "global", filters().hops, $("graph-at").value.trim()].join("|");
  if (inflight && inflight.key === key) return inflight.p;
  const p = loadGraphNow(++loadGen).finally(() => { if (inflight && inflight.p === p) inflight = null; });
  inflight = { key, p };
  return p;
}

async function loadGraphNow(gen) {
  const fromText = $("graph-from").value.trim();
  const scope = $("graph-scope").value.trim() || "global";
  const depth = String(filters().hops);
  const atText = $("graph-at").value.trim();
  const at = atText ? parseWhen(atText) : null;
  if (atText && at === null) { $("graph-status").textContent = "At: a time such as 2016-01-01, 2016-01-01T10:00:00Z or Unix seconds (empty: now)."; return; }
  $("graph-status").textContent = "loading…";
  const t0 = performance.now();
  let data, first = null;
  try {
    // names and the graph in parallel (an @name viewpoint needs the names first)
    const namesP = loadNames();
    if (fromText.startsWith("@")) await namesP;
    const from = fromText ? resolveId(fromText) : "";
    if (from === null) { $("graph-status").textContent = `No such name: ${fromText}`; return; }
    const q = new URLSearchParams({ scope, depth });
    if (from) q.set("from", from);
    if (at !== null) q.set("at", String(at));
    [data] = await Promise.all([api(`/v1/graph?${q}`), namesP]);
    // The own web is empty: show the store's most trusted identities instead,
    // around the one with the most inbound trust, with a line on how to start.
    if (!from && data.nodes.length <= 1) {
      const mq = new URLSearchParams({ scope, per_node: "1" });
      if (at !== null) mq.set("at", String(at));
      const m = await api(`/v1/metrics?${mq}`);
      const top = [...(m.nodes || [])].filter((n) => n.inbound_trust > 0)
        .sort((a, b) => b.inbound_trust - a.inbound_trust || (a.node_id < b.node_id ? -1 : 1)).slice(0, 10);
      if (top.length) {
        const fq = new URLSearchParams({ scope, depth: "1", from: top[0].node_id });
        if (at !== null) fq.set("at", String(at));
        data = await api(`/v1/graph?${fq}`);
        first = { top, scope };
      }
    }
  } catch (e) { $("graph-status").textContent = ""; return showError(e, $("graph-status")); }
  if (gen !== loadGen) return; // superseded
  banner(null);
  setDigest(data.digest);
  const tFetched = performance.now();
  const g = new Graph({ type: "directed", multi: false });
  let maxIn = 1;
  for (const n of data.nodes) if ((n.inbound_trust || 0) > maxIn) maxIn = n.inbound_trust;
  const topSet = new Set(first ? first.top.map((n) => n.node_id) : []);
  data.nodes.forEach((n, i) => {
    const angle = (2 * Math.PI * i * 0.618034) % (2 * Math.PI);
    const r = n.hops ? n.hops + ((i * 7919) % 100) / 150 : 0;
    g.addNode(n.node_id, {
      x: r * Math.cos(angle) + Math.random() * 0.01, y: r * Math.sin(angle) + Math.random() * 0.01,
      size: 3 + 12 * Math.sqrt((n.inbound_trust || 0) / maxIn),
      color: n.hops === 0 ? COLORS.self : COLORS[n.level] || "#888",
      label: label(n.node_id), meta: n,
      forceLabel: n.hops === 0 || topSet.has(n.node_id) || names.has(n.node_id),
    });
  });
  for (const e of data.edges) {
    if (!g.hasNode(e.from) || !g.hasNode(e.to) || g.hasEdge(e.from, e.to)) continue;
    g.addEdge(e.from, e.to, { size: 0.5 + 2 * e.score, color: e.level === "full" ? "#9cc9a9" : "#e8c98c", meta: e });
  }
  // Reciprocal edges are drawn as two curves, one on each side.
  g.forEachEdge((e, attr, a, b) => { if (g.hasEdge(b, a)) { attr.type = "curved"; attr.curvature = 0.25; } });
  const tBuilt = performance.now();
  const large = g.order > 1000;
  if (g.order > 1 && !large) forceAtlas2.assign(g, { iterations: 80, settings: forceAtlas2.inferSettings(g) });
  const tLaid = performance.now();
  const view = { g, scope, from: fromText ? resolveId(fromText) : "", data, first, large, t0, tFetched, tBuilt, tLaid, at };
  showFirstViewNote(first);
  if (currentTab === "graph" && sigmaVisible()) await mountGraph(view);
  else { pending = view; $("graph-status").textContent = `${g.order} nodes (shown when the graph tab opens)`; }
}

function showFirstViewNote(first) {
  const note = $("graph-note");
  window.meshDashboard.firstView = first ? "store" : "own";
  if (!first) { note.classList.add("hidden"); note.replaceChildren(); return; }
  note.classList.remove("hidden");
  note.replaceChildren(
    h("p", {}, h("b", {}, "Your own web of trust is empty"), ` (this node trusts no one in ${first.scope} yet). `,
      "Shown instead: the store's most trusted identity, ", idEl(first.top[0].node_id),
      ", and those it trusts; the ten with the most inbound trust are labelled."),
    h("p", {}, "To start: ", h("code", {}, "mesh trust add ID --level full"), " for people you know, ",
      h("code", {}, "mesh directory add URL"), " then ", h("code", {}, "mesh discover"), " to find publishers, ",
      h("code", {}, "mesh peer add URL"), " and ", h("code", {}, "mesh sync"), " to fetch their statements."),
    h("p", {}, "Most trusted: ", first.top.map((n) => {
      const b = h("button", { type: "button", class: "link", title: `${n.node_id}: view the web from here`, "data-id": n.node_id },
        label(n.node_id));
      b.addEventListener("click", () => { $("graph-from").value = n.node_id; loadGraph(); });
      return [b, ` ${fmt(n.inbound_trust, 1)} `];
    })));
}

// Create the renderer for `view` (only called while the container is visible).
async function mountGraph(view) {
  const { g, large } = view;
  if (layout) { layout.kill(); layout = null; }
  if (renderer) { renderer.kill(); renderer = null; }
  shownGraph = view;
  hoveredEdge = null;
  renderer = new Sigma(g, $("sigma"), {
    allowInvalidContainer: true, // a window resize while the tab is hidden must not throw
    // edge hover (picking) for large views once the layout settles: each
    // layout frame would otherwise draw the picking layer too
    renderEdgeLabels: false, defaultEdgeType: "arrow", enableEdgeEvents: !large,
    edgeProgramClasses: { curved: EdgeCurvedArrowProgram },
    labelRenderedSizeThreshold: 9, labelDensity: 0.4, labelGridCellSize: 140, labelSize: 12,
    labelFont: "system-ui, sans-serif", zIndex: true,
    nodeReducer, edgeReducer,
  });
  applyFilters(false);
  const tip = $("edge-tip");
  renderer.on("clickNode", ({ node }) => showNode(g.getNodeAttribute(node, "meta"), view.scope, view.from || (view.first ? view.data.viewpoint : "")));
  renderer.on("enterEdge", ({ edge, event }) => {
    hoveredEdge = edge;
    tip.textContent = edgeText(g, edge);
    tip.style.left = `${event.x + 12}px`;
    tip.style.top = `${event.y + 12}px`;
    tip.classList.remove("hidden");
    renderer.refresh({ partialGraph: { edges: [edge] }, skipIndexation: true });
  });
  renderer.on("leaveEdge", ({ edge }) => {
    hoveredEdge = null;
    tip.classList.add("hidden");
    renderer.refresh({ partialGraph: { edges: [edge] }, skipIndexation: true });
  });
  if (large) {
    layout = startLayout(g, 4000);
    const r = renderer;
    setTimeout(() => { if (renderer === r) r.setSetting("enableEdgeEvents", true); }, 4000);
  }
  await new Promise((r) => requestAnimationFrame(() => r()));
  const ms = performance.now() - view.t0;
  window.meshDashboard.renderedNodes = g.order;
  window.meshDashboard.graphNodes = () => g.nodes();
  window.meshDashboard.graphAt = view.at;
  window.meshDashboard.labelOf = (id) => (g.hasNode(id) ? g.getNodeAttribute(id, "label") : null);
  window.meshDashboard.edgeText = (a, b) => (g.hasEdge(a, b) ? edgeText(g, g.edge(a, b)) : null);
  window.meshDashboard.edgeType = (a, b) => (g.hasEdge(a, b) ? g.getEdgeAttribute(g.edge(a, b), "type") || "arrow" : null);
  window.meshDashboard.edgeAt = (a, b) => {
    // the viewport position of an edge's midpoint (straight edges), for hover tests
    if (!renderer || !g.hasEdge(a, b)) return null;
    const p = renderer.graphToViewport(g.getNodeAttributes(a)), q = renderer.graphToViewport(g.getNodeAttributes(b));
    const box = $("sigma").getBoundingClientRect();
    return { x: box.left + (p.x + q.x) / 2, y: box.top + (p.y + q.y) / 2 };
  };
  window.meshDashboard.hoveredEdgeText = () => (hoveredEdge && g.hasEdge(hoveredEdge) ? edgeText(g, hoveredEdge) : null);
  window.meshDashboard.reciprocal = () => {
    let pairs = 0, curved = 0;
    g.forEachEdge((e, a, x, y) => { if (g.hasEdge(y, x)) { pairs++; if (a.type === "curved") curved++; } });
    return { pairs, curved };
  };
  window.meshDashboard.renderMs = ms;
  window.meshDashboard.phases = { fetch: view.tFetched - view.t0, build: view.tBuilt - view.tFetched, layout: view.tLaid - view.tBuilt, draw: performance.now() - view.tLaid };
  $("graph-status").dataset.nodes = String(g.order);
  $("graph-status").dataset.at = view.at === null ? "now" : String(view.at);
  graphStatus();
}

function graphStatus() {
  if (!shownGraph || !renderer) return;
  const { g } = shownGraph;
  const ms = window.meshDashboard.renderMs;
  const vis = window.meshDashboard.visibleNodes;
  $("graph-status").textContent = `${g.order} nodes, ${g.size} edges in view` +
    (shownGraph.at !== null && shownGraph.at !== undefined ? ` at ${isoOf(shownGraph.at)}` : "") + ` (${ms.toFixed(0)} ms)` +
    (vis !== g.order ? ` — ${vis} shown by the filters` : "");
  $("graph-status").dataset.visible = String(vis);
}

// Filters as reducers: nothing is rebuilt, hidden nodes and edges are skipped.
let visible = null; // Set of node ids passing the filters
function nodeReducer(node, attr) {
  if (visible && !visible.has(node)) return { ...attr, hidden: true };
  return attr;
}
function edgeReducer(edge, attr) {
  const g = shownGraph && shownGraph.g;
  if (!g) return attr;
  const f = filters();
  const m = attr.meta;
  if (visible && (!visible.has(g.source(edge)) || !visible.has(g.target(edge)))) return { ...attr, hidden: true };
  if ((f.level !== "any" && m.level !== f.level) || m.score < f.min) return { ...attr, hidden: true };
  if (edge === hoveredEdge) return { ...attr, color: "#1d2430", size: (attr.size || 1) + 2, zIndex: 1 };
  return attr;
}
function applyFilters(refresh = true) {
  if (!shownGraph) return;
  const f = filters();
  visible = new Set();
  shownGraph.g.forEachNode((id, a) => { if (passes(a.meta, f)) visible.add(id); });
  window.meshDashboard.visibleNodes = visible.size;
  if (refresh && renderer && sigmaVisible()) renderer.refresh();
  graphStatus();
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

// Filters: level and min score re-filter what is loaded; another hop count
// reloads the graph (now if shown, else when its tab opens) and the list at T.
function onFilter() {
  const f = filters();
  if (shownGraph && !shownGraph.first && f.hops !== Number(shownGraph.data.depth)) {
    if (currentTab === "graph") loadGraph(); else graphStale = true;
  } else applyFilters();
  renderSearch();
  if (lastTime && f.hops !== lastTime.max_depth && currentTab === "time") loadTime(lastTime.at); else renderTime();
}
$("filters").addEventListener("submit", (ev) => { ev.preventDefault(); onFilter(); });
for (const id of ["f-level", "f-min", "graph-depth"]) $(id).addEventListener("change", onFilter);

// ---- search -------------------------------------------------------------------
let lastSearch = null; // {doc, q, scope}
const authorPaths = new Map(); // "scope author" -> path document or error text

async function runSearch() {
  const q = $("search-q").value.trim(), scope = $("search-scope").value.trim() || "global";
  const limit = $("search-limit").value || "20";
  const el = $("search-results");
  if (!q) { el.textContent = "Enter words to search for."; return; }
  $("search-status").textContent = "…";
  let doc;
  try { await loadNames(); doc = await api(`/v1/search?${new URLSearchParams({ q, scope, limit, statements: "0" })}`); } catch (e) { $("search-status").textContent = ""; return showError(e, el); }
  banner(null);
  setDigest(doc.digest);
  lastSearch = { doc, q, scope };
  authorPaths.clear();
  renderSearch();
  // the path to each author (one request per distinct author)
  const authors = [...new Set(doc.results.filter((r) => r.hops > 0).map((r) => r.author))];
  await Promise.all(authors.map(async (a) => {
    try { authorPaths.set(`${scope} ${a}`, await api(`/v1/trust/path?${new URLSearchParams({ target: a, scope })}`)); } catch (e) { authorPaths.set(`${scope} ${a}`, e.message); }
  }));
  renderSearch();
  $("search-results").dataset.paths = "done";
}

function pathInline(p) {
  if (!p) return "…";
  if (typeof p === "string") return `(${p})`;
  if (!p.found) return `no path: ${p.reason}`;
  const parts = [idEl(p.path[0].from)];
  for (const e of p.path) parts.push(` →${fmt(e.score, 2)} `, idEl(e.to));
  return h("span", { class: "path-inline", "data-hops": p.path.length }, parts, ` = ${fmt(p.score, 3)}`);
}

function renderSearch() {
  if (!lastSearch) return;
  const { doc, scope } = lastSearch;
  const f = filters();
  const rows = doc.results.filter((r) => passes(r, f));
  $("search-status").textContent = `${doc.results.length} result(s)` + (rows.length !== doc.results.length ? `, ${rows.length} pass the filters` : "");
  $("search-status").dataset.count = String(doc.results.length);
  const el = $("search-results");
  el.dataset.shown = String(rows.length);
  el.replaceChildren(rows.length
    ? table(["#", "title", "topics", "author", "level", "trust", "rank", "published", "trust path"], rows.map((r, i) => [
      String(i + 1), h("b", {}, r.title), (r.topics || []).join(", "), idEl(r.author), r.level, fmt(r.trust, 3), typeof r.rank === "number" ? r.rank.toPrecision(3) : String(r.rank),
      isoOf(r.ts), r.hops === 0 ? "you" : pathInline(authorPaths.get(`${scope} ${r.author}`))]),
    (i) => ({ "data-id": rows[i].id, "data-author": rows[i].author, class: "search-row" }))
    : h("p", {}, doc.results.length ? "No result passes the filters." : "No lesson matches among the authors this node trusts in this scope."));
}
$("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); runSearch(); });

// ---- communities: the list, a roster, its rounds and proposals, the policy ---------
// GET /v1/communities (= mesh community list --json), /v1/communities?genesis=
// (= mesh community members --json), /v1/pot (= mesh pot status --json),
// /v1/proposals?scope= (= mesh proposal list --json); the policy in force per
// scope from /v1/metrics; the community statements held from /v1/log.
const COMMUNITY_TYPES = new Set(["genesis", "pot-open", "pot-commit", "pot-reveal", "pot-claim", "proposal", "vote", "bridge"]);
const short = (x, n = 12) => String(x || "").slice(0, n);
const PERMILLE = new Set(["max_gini", "max_top10_share", "quorum", "threshold", "min_score"]);

function docEl(v) {
  // a JSON document as nested lists, every value as text
  if (v === null || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return v.length ? h("ul", {}, v.map((x) => h("li", {}, docEl(x)))) : "[]";
  return h("ul", {}, Object.entries(v).map(([k, x]) => h("li", {}, h("b", {}, k), ": ",
    typeof x === "string" && /^12D3KooW/.test(x) ? idEl(x) : docEl(x))));
}

async function showRound(round) {
  const el = $("pot-result");
  el.textContent = "…";
  try {
    const d = await api(`/v1/pot?${new URLSearchParams({ round })}`);
    el.replaceChildren(h("div", { class: "kv-doc" }, docEl(d)));
    el.dataset.round = round;
  } catch (e) { showError(e, el); }
}
$("pot-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const r = $("pot-round").value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(r)) { $("pot-result").textContent = "A round is the 64-hex id of its pot-open statement."; return; }
  showRound(r);
});

let policyGen = 0;
async function loadPolicy() {
  const scope = $("policy-scope").value.trim() || "global";
  const el = $("policy");
  const gen = ++policyGen;
  try {
    const m = await api(`/v1/metrics?${new URLSearchParams({ scope })}`);
    if (gen !== policyGen) return; // a newer request (another scope) is on its way
    el.replaceChildren(...[["scope", m.scope], ["max gini in force", fmt(m.max_gini, 2)], ["source", m.max_gini_source || "local"],
      ["local overrides", (m.policy_overrides || []).length ? m.policy_overrides.join(", ") : "none"],
      ["gini now", fmt(m.gini, 6)], ["alert", m.alert || "none"]].map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", { "data-key": k }, v))));
  } catch (e) { showError(e, el); }
}
$("policy-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadPolicy(); });

// A policy object ({max_gini: ‰, enforce_gini, max_top10_share: ‰, tiers, bridges})
// as text pieces; per-mille values as fractions.
function policyEl(pol) {
  if (!pol || typeof pol !== "object") return "—";
  const parts = [];
  for (const [k, v] of Object.entries(pol)) {
    if (k === "sources") continue;
    let val;
    if (PERMILLE.has(k) && typeof v === "number") val = fmt(v / 1000, 3);
    else if (k === "bridges" && Array.isArray(v)) val = v.length ? v.map((x) => idEl(x)) : "none";
    else if (k === "tiers" && Array.isArray(v)) val = v.map((t) => `≥${fmt((t.min_score ?? 0) / 1000, 3)}: ${t.rate}/s burst ${t.burst}`).join("; ");
    else val = typeof v === "object" ? JSON.stringify(v) : String(v);
    parts.push(h("span", { class: "pol", "data-key": k }, `${k} `, val));
  }
  return parts.length ? parts.flatMap((x, i) => (i ? [", ", x] : [x])) : "—";
}

let communityDocs = null; // {list, rounds, at}
let shownCommunity = null; // genesis id

async function loadCommunities() {
  loadPolicy();
  loadCommunityLog();
  const el = $("communities");
  let list, pot;
  try {
    await loadNames();
    [list, pot] = await Promise.all([api("/v1/communities"), api("/v1/pot")]);
  } catch (e) { return showError(e, el); }
  const cs = list.communities || [];
  communityDocs = { list: cs, rounds: pot.rounds || [], at: pot.at };
  el.dataset.count = String(cs.length);
  if (!cs.length) {
    el.replaceChildren(h("p", {}, "No community held. ", h("code", {}, "mesh community create SCOPE --founders ID,ID"), " founds one; ",
      h("code", {}, "mesh sync"), " fetches those of your peers."));
    $("community-detail").classList.add("hidden");
    return;
  }
  el.replaceChildren(table(["scope", "genesis", "founders", "members", "period", "credits", "bound", "conflicts", ""], cs.map((c) => {
    const b = h("button", { type: "button", class: "link", "data-genesis": c.genesis }, "show");
    b.addEventListener("click", () => showCommunity(c.genesis));
    return [h("b", {}, c.scope), h("span", { title: c.genesis }, short(c.genesis, 16)), c.founders, c.members,
      `${fmt(c.period / 86400, 2)} d`, c.credits, c.bound ? "yes" : "no",
      c.conflicts ? h("span", { class: "mark", title: "other geneses claim this label" }, `⚠ ${c.conflicts}`) : "0", b];
  }), (i) => ({ "data-genesis": cs[i].genesis, "data-scope": cs[i].scope, class: cs[i].conflicts ? "alert-row" : "" })));
  const keep = shownCommunity && cs.find((c) => c.genesis === shownCommunity);
  await showCommunity(keep ? shownCommunity : (cs.find((c) => c.bound) || cs[0]).genesis);
}

async function showCommunity(genesis) {
  const c = communityDocs && communityDocs.list.find((x) => x.genesis === genesis);
  if (!c) return;
  shownCommunity = genesis;
  $("community-detail").classList.remove("hidden");
  $("policy-scope").value = c.scope;
  loadPolicy();
  $("community-title").replaceChildren(`Community ${c.scope} `, h("span", { class: "hint", title: genesis }, `(genesis ${short(genesis, 16)}…)`));
  const roster = $("community-roster"), roundsEl = $("community-rounds"), propEl = $("community-proposals");
  for (const x of [roster, roundsEl, propEl]) { x.textContent = "…"; delete x.dataset.done; }
  const rounds = communityDocs.rounds.filter((r) => r.genesis === genesis);
  let members, props;
  try {
    [members, props] = await Promise.all([api(`/v1/communities?${new URLSearchParams({ genesis })}`),
      api(`/v1/proposals?${new URLSearchParams({ scope: c.scope })}`)]);
  } catch (e) { return showError(e, roster); }
  if (shownCommunity !== genesis) return;
  // The roster: each member, how they came in (a round that admitted them, else
  // a founder when the counts say so) and the penalties in force on them.
  const admittedBy = new Map();
  for (const r of rounds) if (r.admitted && r.candidate) admittedBy.set(r.candidate, r);
  const penalties = new Map();
  for (const r of rounds) for (const p of r.penalties || []) {
    const k = `${p.member} ${p.round}`;
    if (!penalties.has(k)) penalties.set(k, p);
  }
  const penOf = (id) => [...penalties.values()].filter((p) => p.member === id);
  const ms = members.members || [];
  const nonRound = ms.filter((id) => !admittedBy.has(id)).length;
  const role = (id) => {
    const r = admittedBy.get(id);
    if (r) return ["admitted", h("span", { title: r.round }, ` by round ${short(r.round, 8)}…`), r.resolved_at ? `, ${r.resolved_at}` : ""];
    return nonRound === c.founders ? "founder" : "founder or admitted by a claim";
  };
  roster.dataset.count = String(ms.length);
  roster.replaceChildren(...[
    table(["member", "joined", "penalties in force"], ms.map((id) => {
      const ps = penOf(id);
      return [idEl(id), role(id), ps.length ? ps.map((p, i) => h("span", { class: "mark", title: p.reason }, i ? "; " : "", `until ${p.until}: ${p.reason}`)) : "none"];
    }), (i) => ({ "data-id": ms[i], class: penOf(ms[i]).length ? "alert-row member-row" : "member-row" })),
    members.conflicts && members.conflicts.length
      ? h("p", { class: "alert" }, `Other geneses claim ${c.scope}: `, members.conflicts.map((g) => h("code", { title: g }, `${short(g, 16)}… `)), "(",
        h("code", {}, "mesh community join GENESIS"), " binds the label here).")
      : null].filter(Boolean));
  roster.dataset.done = "1";
  // Proof-of-trust rounds (mesh pot status --json), newest last as the node lists them.
  roundsEl.dataset.count = String(rounds.length);
  roundsEl.replaceChildren(rounds.length
    ? table(["round", "candidate", "opener", "cosponsor", "opened", "deadline", "stage", "outcome", "penalties in force"], rounds.map((r) => {
      const b = h("button", { type: "button", class: "link", title: `${r.round}: the whole round` }, `${short(r.round, 12)}…`);
      b.addEventListener("click", () => { $("pot-round").value = r.round; showRound(r.round); });
      return [b, idEl(r.candidate), idEl(r.opener), idEl(r.cosponsor), r.opened_at, r.deadline, r.stage,
        h("b", { class: r.admitted ? "" : "mark" }, r.outcome), String((r.penalties || []).filter((p) => p.round === r.round).length)];
    }), (i) => ({ "data-round": rounds[i].round, "data-stage": rounds[i].stage, "data-outcome": rounds[i].outcome, class: "round-row" }))
    : h("p", {}, "No round yet: ", h("code", {}, `mesh pot open --scope ${c.scope} --candidate ID --with MEMBER`), "."));
  roundsEl.dataset.done = "1";
  // Proposals with their tally, quorum and threshold, outcome and the policy after.
  const ps = (props.proposals || []).filter((p) => p.genesis === genesis);
  propEl.dataset.count = String(ps.length);
  propEl.replaceChildren(ps.length
    ? h("div", {}, ps.map((p) => h("div", { class: "proposal", "data-proposal": p.proposal, "data-yes": p.tally.yes, "data-no": p.tally.no,
      "data-voters": p.tally.voters, "data-cast": p.cast, "data-outcome": p.outcome },
    h("p", {}, h("b", { title: p.proposal }, `Proposal ${short(p.proposal, 12)}…`), " by ", idEl(p.proposer), ` — opened ${isoOf(p.ts)}, closes ${isoOf(p.closes)}`),
    h("table", { class: "kv" },
      h("tr", {}, h("td", {}, "sets"), h("td", {}, policyEl(p.policy))),
      h("tr", {}, h("td", {}, "tally"), h("td", { class: "tally" }, `yes ${p.tally.yes}, no ${p.tally.no} — ${p.cast} cast of ${p.tally.voters} voters`)),
      h("tr", {}, h("td", {}, "quorum / threshold"), h("td", {}, `${fmt(p.quorum / 10, 1)}% of voters cast / ${fmt(p.threshold / 10, 1)}% of cast yes — `,
        `${p.cast * 1000 >= p.quorum * p.tally.voters ? "quorum met" : "quorum missed"}, ${p.cast && p.tally.yes * 1000 >= p.threshold * p.cast ? "threshold met" : "threshold missed"}`)),
      h("tr", {}, h("td", {}, "outcome"), h("td", {}, h("b", { class: p.outcome === "passed" ? "" : "mark" }, p.outcome))),
      h("tr", {}, h("td", {}, "policy in force after"), h("td", {}, policyEl(p.policy_after)))),
    table(["voter", "choice", "time (UTC)", "counted", "late"], (p.votes || []).map((v) => [idEl(v.voter), v.choice, isoOf(v.ts), v.counted ? "yes" : "no", v.late ? "late (first seen after closes)" : ""])
      .concat((p.refused_votes || []).map((v) => [idEl(v.iss), "refused", isoOf(v.ts), `no: ${v.reason}`, v.late ? "late" : ""])),
    (i) => ({ "data-voter": i < (p.votes || []).length ? p.votes[i].voter : "" })))))
    : h("p", {}, "No proposal yet: ", h("code", {}, `mesh propose --scope ${c.scope} --set max_gini=0.5 --closes 3d`), "."));
  propEl.dataset.done = "1";
}

async function loadCommunityLog() {
  const el = $("community-log");
  try {
    await loadNames();
    const d = await api("/v1/log?limit=1000");
    const rows = (d.statements || []).filter((s) => COMMUNITY_TYPES.has(s.type));
    el.dataset.count = String(rows.length);
    if (!rows.length) { el.replaceChildren(h("p", {}, "None among the 1,000 most recent statements: ", h("code", {}, "mesh community create"), " founds one.")); return; }
    el.replaceChildren(table(["type", "issuer", "seq", "time", "statement"], rows.map((s) => {
      const id = String(s.id || "");
      let idCell = id.slice(0, 16);
      if (s.type === "pot-open") {
        idCell = h("button", { type: "button", class: "link", title: "show this round" }, id.slice(0, 16));
        idCell.addEventListener("click", () => { $("pot-round").value = id; showRound(id); });
      }
      return [s.type, idEl(s.iss), s.seq, isoOf(s.ts), idCell];
    })));
  } catch (e) { showError(e, el); }
}

// ---- time: the trust list at time T (mesh trust list --at T) -----------------------
let timeRange = null; // {min, max} Unix seconds
let lastTime = null;

async function initTime() {
  // default viewpoint: the graph's (the store's most trusted identity on a first view)
  const fromText = $("time-from").value.trim() || $("graph-from").value.trim() ||
    (shownGraph && shownGraph.first ? shownGraph.data.viewpoint : "");
  if (!$("time-from").value.trim() && fromText) $("time-from").value = fromText;
  const now = Math.floor(Date.now() / 1000);
  let min = now - 5 * 365 * 86400;
  try {
    await loadNames();
    const from = fromText ? resolveId(fromText) : selfId;
    if (from) {
      // the slider starts at the viewpoint's first statement
      const res = await fetch(`/v1/feeds/${encodeURIComponent(from)}?from=1&limit=1`, { headers: { Authorization: `Bearer ${token()}` } });
      const text = res.ok ? await res.text() : "";
      const ts = text ? JSON.parse(text.split("\n")[0]).ts : null;
      if (Number.isFinite(ts) && ts < now) min = ts;
    }
  } catch { /* keep the default range */ }
  timeRange = { min, max: now };
  const s = $("time-slider");
  s.min = "0"; s.max = String(Math.max(1, Math.ceil((now - min) / 86400))); s.value = s.max;
  $("time-date").value = isoOf(now);
  await loadTime(now);
}

function sliderTime() {
  if (!timeRange) return Math.floor(Date.now() / 1000);
  const s = $("time-slider");
  return Math.min(timeRange.max, timeRange.min + Number(s.value) * 86400);
}
$("time-slider").addEventListener("input", () => { $("time-date").value = isoOf(sliderTime()); });
$("time-slider").addEventListener("change", () => loadTime(sliderTime(), true));

function parseWhen(text) {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

async function loadTime(at, follow = false) {
  const el = $("time-result");
  const fromText = $("time-from").value.trim();
  const scope = $("time-scope").value.trim() || "global";
  if (!timeRange) await initTime();
  const from = fromText ? resolveId(fromText) : "";
  if (from === null) { el.textContent = `No such name: ${fromText}`; return; }
  const q = new URLSearchParams({ scope, depth: String(filters().hops), at: String(at) });
  if (from) q.set("from", from);
  $("time-summary").textContent = "…";
  let d;
  try { d = await api(`/v1/trust/list?${q}`); } catch (e) { $("time-summary").textContent = ""; return showError(e, el); }
  banner(null);
  lastTime = d;
  el.dataset.at = String(d.at);
  renderTime();
  // The graph follows: the web at T from the same viewpoint and scope, drawn
  // when the graph tab opens.
  if (follow && $("time-graph").checked) {
    $("graph-at").value = String(d.at);
    $("graph-from").value = fromText;
    $("graph-scope").value = scope;
    graphStale = true;
  }
}

function renderTime() {
  const d = lastTime;
  if (!d) return;
  const el = $("time-result");
  const rows = d.results.filter((r) => passes(r));
  $("time-summary").replaceChildren(`At ${isoOf(d.at)} (${d.at}), from `, idEl(d.viewpoint), ` in ${d.scope}, depth ${d.max_depth}, ${d.mode}: `,
    h("b", { id: "time-count" }, String(d.results.length)), " trusted" + (rows.length !== d.results.length ? `, ${rows.length} pass the filters` : "") + " — digest ",
    h("code", { id: "time-digest", title: d.digest }, d.digest.slice(0, 16)), "…");
  el.dataset.count = String(d.results.length);
  el.dataset.shown = String(rows.length);
  el.replaceChildren(rows.length
    ? table(["identity", "level", "hops", "score", "via"], rows.map((r) => [idEl(r.node_id), r.level, r.hops, fmt(r.score, 3), r.via ? idEl(r.via) : ""]),
      (i) => ({ "data-id": rows[i].node_id }))
    : h("p", {}, "No one trusted at that time (from this viewpoint, in this scope)."));
}
$("time-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = parseWhen($("time-date").value);
  if (t === null) { $("time-summary").textContent = "A time: 2016-01-01, 2016-01-01T10:00:00Z or Unix seconds."; return; }
  if (timeRange && t >= timeRange.min && t <= timeRange.max) $("time-slider").value = String(Math.round((t - timeRange.min) / 86400));
  loadTime(t, true);
});

// ---- scopes: the comparison and one scope in detail ------------------------------------
// Every scope the edges name (GET /v1/scopes = mesh trust scopes --json), plus
// global and any typed here, side by side.
async function loadCompare() {
  const el = $("compare");
  const typed = $("compare-scopes").value.split(",").map((x) => x.trim()).filter(Boolean);
  $("compare-status").textContent = "measuring…";
  let listed;
  try { listed = (await api("/v1/scopes")).scopes || []; } catch (e) { $("compare-status").textContent = ""; return showError(e, el); }
  const edges = new Map(listed.map((x) => [x.scope, x.edges]));
  const scopes = [...new Set(["global", ...listed.map((x) => x.scope), ...typed])];
  const rows = await Promise.all(scopes.map(async (scope) => {
    try { return { scope, m: await api(`/v1/metrics?${new URLSearchParams({ scope })}`) }; } catch (e) { return { scope, err: e.message }; }
  }));
  const ok = rows.filter((r) => r.m);
  const maxG = Math.max(0, ...ok.map((r) => r.m.gini));
  el.replaceChildren(table(["scope", "edges", "nodes", "gini", "top 10% share", "max gini in force", "alert"], rows.map((r) => r.m
    ? [h("b", {}, r.scope), edges.has(r.scope) ? edges.get(r.scope) : "0 (no edge names it)", r.m.node_count,
      h("span", { class: r.m.gini === maxG && ok.length > 1 ? "mark" : "" }, fmt(r.m.gini, 6)),
      fmt(r.m.top_10_percent_share, 6), `${fmt(r.m.max_gini, 2)} (${r.m.max_gini_source || "local"})`, r.m.alert ? h("span", { class: "mark" }, `⚠ ${r.m.alert}`) : "—"]
    : [h("b", {}, r.scope), edges.get(r.scope) ?? "", "", "", "", "", `error: ${r.err}`]),
  (i) => ({ "data-scope": rows[i].scope, class: rows[i].m && rows[i].m.alert ? "alert-row" : "" })));
  el.dataset.done = "1";
  el.dataset.scopes = String(ok.length);
  window.meshDashboard.compareScopes = scopes;
  window.meshDashboard.compare = Object.fromEntries(ok.map((r) => [r.scope, { gini: r.m.gini, top10: r.m.top_10_percent_share, alert: r.m.alert || null }]));
  $("compare-status").textContent = `${ok.length} scope(s): every scope the edges name (mesh trust scopes)${typed.length ? " and those typed" : ""}; ⚠ marks an alert (gini over the max in force)`;
}
$("compare-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadCompare(); });

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

// ---- live refresh: poll a cheap endpoint, reload the open tab when the digest moves ----
let polling = false;
async function poll() {
  if (polling || !$("live").checked || !selfId) return;
  polling = true;
  try {
    const d = await api(`/v1/trust?${new URLSearchParams({ target: selfId })}`);
    if (d.digest && digestNow && d.digest !== digestNow) {
      setDigest(d.digest);
      $("live-status").textContent = `updated ${new Date().toLocaleTimeString()}`;
      window.meshDashboard.liveRefreshes = (window.meshDashboard.liveRefreshes || 0) + 1;
      await refreshOpenTab();
    } else if (d.digest) setDigest(d.digest);
  } catch (e) {
    if (e.kind === "unreachable" || e.kind === "token") showError(e);
  } finally { polling = false; }
}
async function refreshOpenTab() {
  // The graph reloads now if shown, else when its tab opens.
  if (currentTab === "graph") await loadGraph(); else graphStale = true;
  if (currentTab === "search" && lastSearch) runSearch();
  if (currentTab === "scopes") { loadCompare(); if ($("scope-metrics").childElementCount) loadScope(); }
  if (currentTab === "communities") loadCommunities();
  if (currentTab === "peers") loadPeers();
  if (currentTab === "audit") loadAudit();
  if (currentTab !== "scopes") delete $("compare").dataset.done;
}
setInterval(poll, 3000);

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
  $("explain").replaceChildren();
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
  await loadExplain(q);
});

// ---- why this score: GET /v1/trust/explain (= mesh trust explain ID --json) ------
// Each edge of the best path, their product, × trust.decay[hops], the score;
// then every other last hop into the target with its best path and why it lost.
// The document is built by the views layer the CLI uses (mt_view_explain).

function product(edges) {
  return edges.map((e) => fmt(e.score, 3)).join(" × ");
}

async function loadExplain(q) {
  const el = $("explain");
  delete el.dataset.score;
  el.textContent = "…";
  let d;
  try { d = await api(`/v1/trust/explain?${q}`); } catch (e) { return showError(e, el); }
  renderExplain(d, el);
}

function renderExplain(d, el) {
  el.dataset.state = "done";
  el.dataset.mode = d.mode || "";
  const head = h("p", { class: "hint" }, `${d.mode} mode, max depth ${d.max_depth}, at ${isoOf(d.at)}; trust.decay = [${(d.decay || []).map((x) => fmt(x, 3)).join(", ")}]`);
  if (d.mode === "flow" || d.mode === "flow-adaptive" || !Array.isArray(d.path)) {
    // flow modes: distance, capacity and flow (shown as the document gives them)
    el.replaceChildren(head, h("div", { class: "kv-doc" }, docEl(d)));
    if (typeof d.score === "number") el.dataset.score = String(d.score);
    return;
  }
  if (!d.found) {
    el.replaceChildren(head, h("p", { class: "alert" }, `No path: ${d.reason || "not trusted from this viewpoint"}`));
    el.dataset.found = "false";
  } else {
    el.dataset.found = "true";
    el.dataset.score = String(d.score);
    el.dataset.product = String(d.product);
    el.dataset.decayFactor = String(d.decay_factor);
    el.dataset.decayIndex = String(d.decay_index);
    el.replaceChildren(head,
      h("p", {}, h("b", {}, "The best path"), `, ${d.hops} hop(s):`),
      table(["#", "from", "to", "level", "edge score"], d.path.map((e, i) => [String(i + 1), idEl(e.from), idEl(e.to), e.level, fmt(e.score, 3)]),
        (i) => ({ class: "explain-edge", "data-from": d.path[i].from, "data-to": d.path[i].to })),
      h("p", { class: "formula" },
        "product ", product(d.path), " = ", h("b", { id: "explain-product" }, fmt(d.product, 6)),
        ` × decay[${d.decay_index}] `, h("b", { id: "explain-decay" }, fmt(d.decay_factor, 6)),
        " = score ", h("b", { id: "explain-score" }, fmt(d.score, 6)), `, level ${d.level}` +
        (d.path_level && d.path_level !== d.level ? ` (the best level of any path; this path's is ${d.path_level})` : "")));
  }
  const others = d.others || [];
  el.dataset.others = String(others.length);
  el.append(h("p", {}, h("b", {}, "Other last hops into the target"), others.length ? " and why they lost:" : ": none."));
  if (others.length) {
    el.append(table(["via", "hops", "path", "product", "× decay", "score", "why it lost"], others.map((o) => [
      idEl(o.via), o.hops ?? "", Array.isArray(o.path) && o.path.length ? h("span", { class: "path-inline" }, [idEl(o.path[0].from), o.path.map((e) => [` →${fmt(e.score, 2)} `, idEl(e.to)])]) : "",
      typeof o.product === "number" ? fmt(o.product, 6) : "", typeof o.decay_factor === "number" ? fmt(o.decay_factor, 6) : "",
      typeof o.score === "number" ? fmt(o.score, 6) : "", h("b", {}, o.outcome || "")]),
    (i) => ({ class: "explain-other", "data-via": others[i].via, "data-score": others[i].score ?? "", "data-outcome": others[i].outcome || "" })));
  }
}

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
      table(["statement", "issuer", "seq", "type", "time (UTC)", "reason"], (d.statements || []).map((s) => [String(s.id || "").slice(0, 12), idEl(s.iss), s.seq, s.type, isoOf(s.ts), s.reason || ""])),
      h("h3", {}, "Refused statements (since the node started)"),
      table(["reason", "count"], (d.refused || []).map((x) => [x.reason, x.count])),
      h("h3", {}, "Forks (equivocation)"),
      table(["issuer", "seq", "branch a", "branch b"], forks.length ? forks.map((f) => [idEl(f.iss), `seq ${f.seq}`, String(f.a).slice(0, 12), String(f.b).slice(0, 12)]) : [["none"]]));
  } catch (e) { showError(e, el); }
}

// ---- start ----------------------------------------------------------------------
(async () => {
  try {
    const id = await api("/v1/id");
    selfId = id.node_id;
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
})();
