// End-to-end dashboard test: a real node (started here, 127.0.0.1 only) with
// the Bitcoin Alpha web of trust, driven in headless Debian chromium through
// playwright-core. Usage: node tests/e2e.mjs MESH_BINARY SHARED_DATA_DIR ARTIFACT_DIR
import { chromium } from "playwright-core";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";

const WEB = fileURLToPath(new URL("../../web", import.meta.url));

const [mesh, dataDir, artifacts] = process.argv.slice(2);
if (!mesh || !dataDir || !artifacts) {
  console.error("usage: node tests/e2e.mjs MESH DATA_DIR ARTIFACT_DIR");
  process.exit(2);
}
fs.mkdirSync(artifacts, { recursive: true });
const home = fs.mkdtempSync(path.join(os.tmpdir(), "mesh-e2e-"));
const env = { ...process.env, MESH_HOME: home };
let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) { passed++; console.log(`ok   ${what}`); } else { failed++; console.log(`FAIL ${what}`); }
}
const run = (args, timeout = 120000) => execFileSync(mesh, args, { env, timeout, encoding: "utf8", maxBuffer: 1 << 28 });

let node = null, browser = null;
async function startNode() {
  node = spawn(mesh, ["node", "start", "--listen", "127.0.0.1:0", "--web", WEB, "--sync-interval", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
  node.stderr.on("data", () => {});
  return await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("node did not start in 20 s")), 20000);
    let buf = "";
    node.stdout.on("data", (d) => {
      buf += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/#token=([0-9a-f]+)/.exec(buf);
      if (m) { clearTimeout(t); resolve({ base: m[1], token: m[2] }); }
    });
    node.on("exit", (c) => reject(new Error(`node exited ${c}`)));
  });
}
function stopNode() { if (node && node.exitCode === null) node.kill("SIGTERM"); node = null; }

try {
  run(["init"]);
  // The web of trust: Bitcoin Alpha, one key per member.
  const mapFile = path.join(home, "alpha.map");
  run(["graph", "import-edgelist", path.join(dataDir, "soc-sign-bitcoinalpha.csv.gz"), "--format", "csv-signed", "--map", mapFile], 300000);
  // A second, disjoint web (Bitcoin OTC, its own keys) for a view of 5,000+ nodes.
  const otcMap = path.join(home, "otc.map");
  run(["graph", "import-edgelist", path.join(dataDir, "soc-sign-bitcoinotc.csv.gz"), "--format", "csv-signed", "--map", otcMap], 300000);
  // Viewpoint: the member with the most positive out-edges.
  const hubOf = (file, map) => {
    const ids = new Map(fs.readFileSync(map, "utf8").trim().split("\n").map((l) => l.split(/\s+/)));
    const out = new Map();
    for (const line of zlib.gunzipSync(fs.readFileSync(path.join(dataDir, file))).toString().trim().split("\n")) {
      const [s, t, r] = line.split(",");
      if (Number(r) > 0 && s !== t) out.set(s, (out.get(s) || 0) + 1);
    }
    const hub = [...out.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
    return [hub, ids.get(hub)];
  };
  const [hub, V] = hubOf("soc-sign-bitcoinalpha.csv.gz", mapFile);
  const [, V2] = hubOf("soc-sign-bitcoinotc.csv.gz", otcMap);
  const list = JSON.parse(run(["trust", "list", "--from", V, "--depth", "2", "--json"]));
  const expectNodes = list.results.length + 1;
  const target = list.results.find((r) => r.hops === 2).node_id;
  const cliPath = JSON.parse(run(["trust", "path", target, "--from", V, "--json"]));
  let cliMetrics = JSON.parse(run(["metrics", "--json"]));
  console.log(`viewpoint ${V} (member ${hub}); expecting ${expectNodes} nodes at depth 2; gini ${cliMetrics.gini}`);
  // Local names (mesh name set), set before the node starts: the dashboard
  // shows them next to the IDs (GET /v1/names).
  run(["name", "set", V, "e2e-hub"]);
  run(["name", "set", target, "e2e-target"]);
  const nodeId = JSON.parse(run(["id", "--json"])).node_id;
  const unnamed = list.results.find((r) => r.hops === 1 && r.node_id !== target).node_id;
  // Lessons for the search tab: this home's own, one of H2 (trusted later)
  // and one of H3 (trusted by H2: a 2-hop author), imported from their homes.
  // H2 -> H3 is also in a second scope, coop:garden, for the scope comparison.
  const other = (name) => {
    const h = path.join(home, name);
    const e = { ...process.env, MESH_HOME: h };
    const r = (args, input) => execFileSync(mesh, args, { env: e, encoding: "utf8", input, maxBuffer: 1 << 26 });
    r(["init"]);
    return { r, id: JSON.parse(r(["id", "--json"])).node_id };
  };
  const H2 = other("h2"), H3 = other("h3");
  H2.r(["trust", "add", H3.id, "--level", "full", "--score", "0.8"]);
  H2.r(["trust", "add", H3.id, "--level", "full", "--scope", "coop:garden"]);
  H3.r(["trust", "add", H2.id, "--level", "limited", "--score", "0.5", "--scope", "coop:garden"]);
  H2.r(["lesson", "publish", "--topic", "garden", "--title", "Moss for beginners"], "Keep moss in the shade and water it.\n");
  H3.r(["lesson", "publish", "--topic", "garden", "--title", "Moss on stones"], "Moss grows on stones kept damp.\n");
  execFileSync(mesh, ["lesson", "publish", "--topic", "garden", "--title", "My moss notes"], { env, input: "moss, weekly\n", encoding: "utf8" });
  for (const o of [H2, H3]) {
    const f = path.join(home, `${o.id}.ndjson`);
    fs.writeFileSync(f, o.r(["log", "export", "--iss", o.id]));
    run(["log", "import", f]);
  }
  run(["trust", "add", H2.id, "--level", "full", "--scope", "coop:garden"]);

  // A community for the communities tab, as tests/integration/test_pot_homes.py
  // and test_gov_node.py build one (MESH_NOW in the past): G1 founds coop:moss
  // (period 5 days) with G2 and G3 12 days ago; round 1 (G1 opens for G4 with
  // G2, both cooperate) admits G4; 3 days ago, after G4's first period, round 2
  // (G3 opens for G5 with G4, G3 defects) penalises G4 for a period; then G1
  // proposes max_gini 0.5 (closing a day later), G1 and G2 vote yes, G3 no. Statements move between
  // the homes by log export / log import; this home imports them all.
  const past = Math.floor(Date.now() / 1000) - 12 * 86400;
  const gov = (name) => {
    const h = path.join(home, name);
    const r = (args, at, input) => execFileSync(mesh, args, { env: { ...process.env, MESH_HOME: h, MESH_NOW: String(at) }, encoding: "utf8", input, maxBuffer: 1 << 26 });
    r(["init"], past);
    return { h, r, id: JSON.parse(r(["id", "--json"], past)).node_id };
  };
  const G = ["g1", "g2", "g3", "g4", "g5"].map(gov);
  const [G1, G2, G3, G4, G5] = G;
  const exchange = (at) => {
    const all = path.join(home, "gov.ndjson");
    fs.writeFileSync(all, G.slice(0, 4).map((g) => g.r(["log", "export"], at)).join(""));
    for (const g of G.slice(0, 4)) g.r(["log", "import", all], at);
  };
  let t = past;
  const genesis = JSON.parse(G1.r(["community", "create", "coop:moss", "--founders", `${G2.id},${G3.id}`, "--period", "5d", "--json"], t)).genesis;
  G1.r(["trust", "add", G2.id, "--level", "full", "--scope", "coop:moss"], t + 1);
  G2.r(["trust", "add", G3.id, "--level", "full", "--score", "0.6", "--scope", "coop:moss"], t + 1);
  exchange(t + 2);
  const r1 = JSON.parse(G1.r(["pot", "open", "--scope", "coop:moss", "--candidate", G4.id, "--with", G2.id, "--deadline", "3d", "--json"], t + 10)).round;
  exchange(t + 12);
  G2.r(["pot", "commit", r1, "cooperate"], t + 20);
  G1.r(["pot", "commit", r1, "cooperate"], t + 21);
  exchange(t + 30);
  G1.r(["pot", "reveal", r1], t + 40);
  G2.r(["pot", "reveal", r1], t + 41);
  exchange(t + 50);
  t = past + 9 * 86400;
  const r2 = JSON.parse(G3.r(["pot", "open", "--scope", "coop:moss", "--candidate", G5.id, "--with", G4.id, "--json"], t + 60)).round;
  exchange(t + 61);
  G3.r(["pot", "commit", r2, "defect"], t + 62);
  G4.r(["pot", "commit", r2, "cooperate"], t + 63);
  exchange(t + 64);
  G3.r(["pot", "reveal", r2], t + 65);
  G4.r(["pot", "reveal", r2], t + 66);
  exchange(t + 70);
  t += 3600;
  const prop = JSON.parse(G1.r(["propose", "--scope", "coop:moss", "--set", "max_gini=0.5", "--closes", "1d", "--json"], t)).proposal;
  exchange(t + 100);
  G1.r(["vote", prop, "yes"], t + 200);
  G2.r(["vote", prop, "yes"], t + 200);
  G3.r(["vote", prop, "no"], t + 200);
  exchange(t + 300);
  run(["log", "import", path.join(home, "gov.ndjson")]);
  const cliMembers = JSON.parse(run(["community", "members", "coop:moss", "--json"]));
  const cliProps = JSON.parse(run(["proposal", "list", "--json"])).proposals;
  const cliRounds = JSON.parse(run(["pot", "status", "--json"])).rounds.filter((r) => r.genesis === genesis);
  const cliPropM = cliProps.find((p) => p.proposal === prop);
  console.log(`community coop:moss: ${cliMembers.members.length} members, ${cliRounds.length} rounds (${cliRounds.map((r) => r.outcome).join(", ")}), proposal ${cliPropM && cliPropM.outcome} ${cliPropM && JSON.stringify(cliPropM.tally)}`);
  check(cliMembers.members.length === 4 && cliRounds.length === 2 && cliPropM && cliPropM.outcome === "passed",
    "the CLI holds the community: 4 members (G5 not admitted: its opener defected), 2 rounds, a passed proposal");
  const scopes = JSON.parse(run(["trust", "scopes", "--json"])).scopes.map((x) => x.scope);
  cliMetrics = JSON.parse(run(["metrics", "--json"])); // with H2 -> H3
  const own0 = JSON.parse(run(["trust", "list", "--json"]));
  check(own0.results.length === 0, "this node's own web is empty in global before the first view");

  const { base, token } = await startNode();
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  page.setDefaultTimeout(60000);
  // Uncaught errors in the page (exceptions, unhandled rejections) fail the test.
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e.stack || e)));
  // Failed requests (network failures and HTTP errors, e.g. a 404) fail it too.
  const failedRequests = [];
  page.on("requestfailed", (r) => failedRequests.push(`${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on("response", (r) => { if (r.status() >= 400) failedRequests.push(`${r.status()} ${r.url()}`); });
  const clean = (where) => check(pageErrors.length === 0 && failedRequests.length === 0,
    `${where}: no uncaught page errors, no failed requests (${[...pageErrors, ...failedRequests].slice(0, 3).join(" | ")})`);
  const shot = (name) => page.screenshot({ path: path.join(artifacts, name) });
  const tab = async (name) => { await page.click(`nav button[data-tab=${name}]`); };

  // 0. First view on a node whose own web is empty: the store's most trusted
  // identities and how to start, not "1 nodes, 0 edges".
  await page.goto(`${base}/#token=${token}`);
  await page.waitForFunction(() => window.meshDashboard && window.meshDashboard.firstView && window.meshDashboard.renderedNodes > 0);
  const fv = await page.evaluate(() => ({ kind: window.meshDashboard.firstView, n: window.meshDashboard.renderedNodes,
    note: document.querySelector("#graph-note").textContent }));
  check(fv.kind === "store" && fv.n > 1 && /mesh trust add/.test(fv.note) && /mesh directory add/.test(fv.note),
    `first view with an empty own web: the store's most trusted (${fv.n} nodes) and how to start`);
  await shot("first-view.png");

  // 1. Graph: the right node count around the viewpoint.
  await page.fill("#graph-from", V);
  await page.fill("#graph-depth", "2");
  await page.click("#graph-form button[type=submit]");
  await page.waitForFunction((n) => document.querySelector("#graph-status").dataset.nodes === String(n), expectNodes);
  const shown = await page.evaluate(() => window.meshDashboard.renderedNodes);
  check(shown === expectNodes, `graph renders ${shown} nodes = 1 + mesh trust list results (${expectNodes})`);
  const labels = await page.evaluate(([a, b, c]) => [a, b, c].map((id) => window.meshDashboard.labelOf(id)), [V, target, unnamed]);
  check(labels[0] === "e2e-hub" && labels[1] === "e2e-target",
    `graph labels show the names (${JSON.stringify(labels.slice(0, 2))})`);
  check(labels[2] === `${unnamed.slice(8, 14)}…`, `an unnamed node is labelled by its short ID (${labels[2]})`);
  await shot("graph.png");
  const rec = await page.evaluate(() => window.meshDashboard.reciprocal());
  check(rec.pairs > 0 && rec.curved === rec.pairs, `reciprocal edges drawn apart as curves (${rec.curved}/${rec.pairs})`);

  // 1a. Filters: min score 0.5 shows the viewpoint and the trust list's
  // results scoring at least 0.5; level limited only the limited ones.
  await page.fill("#f-min", "0.5");
  await page.dispatchEvent("#f-min", "change");
  const wantMin = 1 + list.results.filter((r) => r.score >= 0.5).length;
  await page.waitForFunction((n) => window.meshDashboard.visibleNodes === n, wantMin).catch(() => {});
  const visMin = await page.evaluate(() => window.meshDashboard.visibleNodes);
  check(visMin === wantMin, `filter min score 0.5: ${visMin} nodes shown = 1 + trust list results with score >= 0.5 (${wantMin})`);
  await shot("graph-filtered.png");
  await page.selectOption("#f-level", "limited");
  const wantLim = 1 + list.results.filter((r) => r.level === "limited" && r.score >= 0.5).length;
  const visLim = await page.evaluate(() => window.meshDashboard.visibleNodes);
  check(visLim === wantLim, `filter level limited + min 0.5: ${visLim} nodes shown (${wantLim})`);
  await page.selectOption("#f-level", "any");
  await page.fill("#f-min", "0");
  await page.dispatchEvent("#f-min", "change");

  // 1b'. Edge score on hover: a depth-1 view, the mouse on a straight edge.
  await page.fill("#graph-depth", "1");
  await page.dispatchEvent("#graph-depth", "change");
  await page.waitForFunction(() => document.querySelector("#graph-status").dataset.nodes && /edges in view/.test(document.querySelector("#graph-status").textContent) && window.meshDashboard.reciprocal);
  await page.waitForTimeout(300);
  const direct = list.results.filter((r) => r.hops === 1).map((r) => r.node_id);
  let tip = null;
  for (const t of direct.slice(0, 40)) {
    const st = await page.evaluate(([a, b]) => ({ type: window.meshDashboard.edgeType(a, b), at: window.meshDashboard.edgeAt(a, b), text: window.meshDashboard.edgeText(a, b) }), [V, t]);
    if (!st.at || st.type !== "arrow") continue;
    await page.mouse.move(st.at.x, st.at.y);
    try {
      await page.waitForSelector("#edge-tip:not(.hidden)", { timeout: 700 });
      // the edge under the mouse (this one, or one crossing it there)
      tip = { shown: await page.textContent("#edge-tip"), want: await page.evaluate(() => window.meshDashboard.hoveredEdgeText()) };
      if (tip.shown === tip.want) break;
    } catch { /* a node or another edge was under the mouse: next */ }
  }
  check(tip && tip.shown === tip.want && /full \d\.\d{3}/.test(tip.shown), `edge score on hover: "${tip && tip.shown}"`);
  await shot("graph-edge-hover.png");
  await page.mouse.move(5, 5);
  await page.fill("#graph-depth", "2");
  await page.dispatchEvent("#graph-depth", "change");
  await page.waitForFunction((n) => document.querySelector("#graph-status").dataset.nodes === String(n), expectNodes);

  // 1c. Switching through every tab (and resizing the window on another tab)
  // throws nothing ("Sigma: Container has no width") and fails no request.
  for (const t of ["search", "communities", "time", "scopes", "path", "peers", "audit", "graph", "scopes"]) {
    await tab(t);
    await page.waitForTimeout(150);
  }
  await page.setViewportSize({ width: 1200, height: 800 });
  await page.waitForTimeout(200);
  await page.setViewportSize({ width: 1400, height: 900 });
  await tab("graph");
  await page.waitForTimeout(300);
  clean("after switching through every tab and a resize");

  // 1b. Once read, the token leaves the address bar (history, bookmarks,
  // screen shares: SPEC §9.4); the tab keeps it, so a reload still works.
  const addr = await page.evaluate(() => ({ hash: location.hash, href: location.href }));
  check(!addr.hash.includes("token") && !addr.href.includes(token),
    `token removed from the address bar after load (now ${JSON.stringify(addr.href)})`);
  await page.reload();
  await page.fill("#graph-from", V);
  await page.fill("#graph-depth", "2");
  await page.click("#graph-form button[type=submit]");
  await page.waitForFunction((n) => document.querySelector("#graph-status").dataset.nodes === String(n), expectNodes);
  const hidden = await page.evaluate(() => document.querySelector("#banner").classList.contains("hidden"));
  check(hidden, "after a reload without #token the dashboard still loads the graph (no banner)");

  // 2. Scopes: the Gini shown equals mesh metrics --json.
  await page.click("nav button[data-tab=scopes]");
  await page.click("#scope-form button[type=submit]");
  await page.waitForFunction(() => window.meshDashboard.gini !== null);
  const gini = await page.evaluate(() => window.meshDashboard.gini);
  const giniText = await page.textContent('td[data-key="gini"]');
  check(gini === cliMetrics.gini, `gini ${gini} equals mesh metrics --json (${cliMetrics.gini})`);
  check(giniText === cliMetrics.gini.toFixed(6), `gini shown as ${giniText}`);

  // 2b. Scope comparison: every scope (mesh trust scopes) side by side, Gini
  // and top-10% share equal to mesh metrics --scope S --json, alerts marked.
  // nothing typed: the list comes from GET /v1/scopes
  await page.fill("#compare-scopes", "");
  await page.evaluate(() => { delete document.querySelector("#compare").dataset.done; });
  await page.click("#compare-form button[type=submit]");
  await page.waitForFunction((n) => Number(document.querySelector("#compare").dataset.scopes || 0) >= n, scopes.length);
  const cmp = await page.evaluate(() => window.meshDashboard.compare);
  const listedScopes = await page.$$eval("#compare tr[data-scope]", (els) => els.map((e) => e.dataset.scope));
  check(scopes.every((sc) => listedScopes.includes(sc)) && listedScopes.every((sc) => sc === "global" || scopes.includes(sc)),
    `scope comparison lists every scope of mesh trust scopes without typing (${listedScopes.join(", ")})`);
  for (const sc of scopes) {
    const m = JSON.parse(run(["metrics", "--scope", sc, "--json"]));
    const c = cmp[sc];
    const marked = await page.$$eval(`#compare tr[data-scope="${sc}"]`, (els) => els.length === 1 && els[0].classList.contains("alert-row"));
    check(c && c.gini === m.gini && c.top10 === m.top_10_percent_share && (c.alert || null) === (m.alert || null) && marked === Boolean(m.alert),
      `scope ${sc}: gini ${c && c.gini}, top 10% ${c && c.top10}${m.alert ? ", alert marked" : ""} = mesh metrics --json`);
  }
  await shot("scopes.png");

  // 2c. Time slider: the trust list at T = mesh trust list --at T.
  await tab("time");
  await page.waitForSelector("#time-result[data-at]");
  await page.fill("#time-from", V);
  await page.fill("#time-date", "2012-01-01");
  await page.click("#time-form button[type=submit]");
  await page.waitForSelector('#time-result[data-at="1325376000"]');
  const cliAt = JSON.parse(run(["trust", "list", "--from", V, "--depth", "2", "--at", "2012-01-01", "--json"]));
  const atIds = await page.$$eval("#time-result tr[data-id]", (els) => els.map((e) => e.dataset.id));
  const atDigest = await page.getAttribute("#time-digest", "title");
  check(atIds.length === cliAt.results.length && atIds.every((x, i) => x === cliAt.results[i].node_id) && atDigest === cliAt.digest,
    `time slider at 2012-01-01: ${atIds.length} identities, digest shown = mesh trust list --at 2012-01-01 --json (${cliAt.results.length})`);
  check(cliAt.results.length < list.results.length, `fewer trusted at 2012-01-01 (${cliAt.results.length}) than now (${list.results.length})`);
  await shot("time.png");
  // the graph follows the time: GET /v1/graph?at=T, the node set of mesh trust list --at T
  await tab("graph");
  await page.waitForFunction(() => document.querySelector("#graph-status").dataset.at === "1325376000" && /edges in view/.test(document.querySelector("#graph-status").textContent));
  const gAt = (await page.evaluate(() => window.meshDashboard.graphNodes())).sort();
  const wantAt = [V, ...cliAt.results.map((r) => r.node_id)].sort();
  check(JSON.stringify(gAt) === JSON.stringify(wantAt),
    `graph at 2012-01-01: ${gAt.length} nodes = the viewpoint + mesh trust list --at 2012-01-01 --json (${wantAt.length})`);
  await shot("graph-at.png");
  await tab("time");
  // the slider itself: moved to its start, it answers for that day
  await page.$eval("#time-slider", (el) => { el.value = "30"; el.dispatchEvent(new Event("input")); el.dispatchEvent(new Event("change")); });
  await page.waitForFunction(() => document.querySelector("#time-result").dataset.at !== "1325376000");
  const slAt = Number(await page.getAttribute("#time-result", "data-at"));
  const cliSl = JSON.parse(run(["trust", "list", "--from", V, "--depth", "2", "--at", String(slAt), "--json"]));
  const slCount = Number(await page.getAttribute("#time-result", "data-count"));
  check(slCount === cliSl.results.length, `time slider at ${new Date(slAt * 1000).toISOString()}: ${slCount} = mesh trust list --at ${slAt} (${cliSl.results.length})`);

  // 2d. Live refresh: back on the own web (empty: the store's most trusted),
  // then mesh trust add from the CLI: the digest moves, the graph follows.
  await tab("graph");
  await page.fill("#graph-from", "");
  await page.fill("#graph-at", "");
  await page.click("#graph-form button[type=submit]");
  await page.waitForFunction(() => window.meshDashboard.firstView === "store" && !/loading/.test(document.querySelector("#graph-status").textContent));
  const digest0 = await page.getAttribute("#digest", "data-digest");
  run(["trust", "add", H2.id, "--level", "full"]);
  const ownList = JSON.parse(run(["trust", "list", "--json"]));
  await page.waitForFunction((n) => window.meshDashboard.firstView === "own" && window.meshDashboard.renderedNodes === n, ownList.results.length + 1, { timeout: 30000 });
  const digest1 = await page.getAttribute("#digest", "data-digest");
  check(digest1 !== digest0 && digest1 === ownList.digest, `live refresh: digest ${digest0.slice(0, 8)} -> ${digest1.slice(0, 8)} (= mesh trust list), own web of ${ownList.results.length + 1} nodes shown without a click`);

  // 2e. Search: lessons ranked by trust = mesh search --json, with the author's path.
  await tab("search");
  await page.fill("#search-q", "moss");
  await page.click("#search-form button[type=submit]");
  await page.waitForSelector('#search-results[data-paths="done"]');
  const cliSearch = JSON.parse(run(["search", "moss", "--json"]));
  const rows = await page.$$eval("#search-results tr.search-row", (els) => els.map((e) => [e.dataset.id, e.dataset.author, (e.querySelector("[data-hops]") || {}).dataset?.hops || null]));
  check(rows.length === cliSearch.results.length && rows.length === 3 && rows.every((r, i) => r[0] === cliSearch.results[i].id),
    `search "moss": ${rows.length} lessons in the order of mesh search --json (${cliSearch.results.map((r) => r.title).join(", ")})`);
  const h3row = rows.find((r) => r[1] === H3.id);
  check(h3row && h3row[2] === "2", "the 2-hop author's lesson shows its trust path (2 edges)");
  await shot("search.png");

  // 2f. Communities: the policy in force (= mesh metrics), the community
  // statements held; what the API does not serve is said.
  await tab("communities");
  await page.waitForSelector('#policy td[data-key="max gini in force"]');
  await page.waitForSelector("#community-log[data-count]");
  // the list (mesh community list), the roster (mesh community members), the
  // rounds (mesh pot status) and the proposals (mesh proposal list)
  const cliList = JSON.parse(run(["community", "list", "--json"])).communities;
  await page.waitForSelector('#community-proposals[data-done="1"]');
  const listed = await page.$$eval("#communities tr[data-genesis]", (els) => els.map((e) => e.dataset.genesis));
  check(listed.length === cliList.length && cliList.every((c) => listed.includes(c.genesis)),
    `communities: the list = mesh community list --json (${listed.length})`);
  const roster = await page.$$eval("#community-roster tr.member-row", (els) => els.map((e) => e.dataset.id));
  check(JSON.stringify(roster) === JSON.stringify(cliMembers.members),
    `communities: coop:moss roster = mesh community members coop:moss --json (${roster.length} members)`);
  const pen = await page.$$eval("#community-roster tr.alert-row", (els) => els.map((e) => e.dataset.id));
  const cliPen = [...new Set(cliRounds.flatMap((r) => (r.penalties || []).map((p) => p.member)))];
  check(cliPen.length > 0 && JSON.stringify(pen.sort()) === JSON.stringify(cliPen.sort()), `communities: penalised members marked (${pen.length}, as mesh pot status)`);
  const rnds = await page.$$eval("#community-rounds tr.round-row", (els) => els.map((e) => [e.dataset.round, e.dataset.stage, e.dataset.outcome]));
  check(JSON.stringify(rnds) === JSON.stringify(cliRounds.map((r) => [r.round, r.stage, r.outcome])),
    `communities: rounds with stage and outcome = mesh pot status --json (${rnds.map((r) => r[2]).join(", ")})`);
  const pr = await page.$eval(`#community-proposals .proposal[data-proposal="${prop}"]`, (e) => ({ ...e.dataset, tally: e.querySelector(".tally").textContent }));
  check(Number(pr.yes) === cliPropM.tally.yes && Number(pr.no) === cliPropM.tally.no && Number(pr.voters) === cliPropM.tally.voters &&
    Number(pr.cast) === cliPropM.cast && pr.outcome === cliPropM.outcome,
    `communities: proposal tally "${pr.tally}", ${pr.outcome} = mesh proposal list --json`);
  await page.waitForFunction(() => (document.querySelector('#policy td[data-key="scope"]') || {}).textContent === "coop:moss");
  const pol2 = await page.textContent('#policy td[data-key="max gini in force"]');
  const cliMoss = JSON.parse(run(["metrics", "--scope", "coop:moss", "--json"]));
  check(pol2 === cliMoss.max_gini.toFixed(2), `communities: max gini in force in coop:moss ${pol2} = mesh metrics --scope coop:moss (${cliMoss.max_gini}, ${cliMoss.max_gini_source})`);
  await shot("communities.png");
  await page.$eval("#community-proposals", (e) => e.scrollIntoView());
  await shot("communities-proposals.png");

  // 3. Path explorer: the same path as mesh trust path.
  await page.click("nav button[data-tab=path]");
  await page.fill("#path-from", V);
  await page.fill("#path-target", target);
  await page.click("#path-form button[type=submit]");
  await page.waitForSelector("#path-result[data-found]");
  const hops = await page.$$eval("#path-result .path-edge", (els) => els.map((e) => [e.dataset.from, e.dataset.to]));
  const cliHops = cliPath.path.map((e) => [e.from, e.to]);
  check(JSON.stringify(hops) === JSON.stringify(cliHops), `path explorer shows the CLI's path (${cliHops.length} edges)`);
  const named = await page.$$eval("#path-result .id.named", (els) => els.map((e) => [e.querySelector("b").textContent, e.title]));
  check(named.some(([n, t]) => n === "e2e-hub" && t === V) && named.some(([n, t]) => n === "e2e-target" && t === target),
    `path explorer names the IDs, full ID in the tooltip (${JSON.stringify(named.map(([n]) => n))})`);
  await shot("path.png");
  // Why this score: GET /v1/trust/explain = mesh trust explain --json
  await page.waitForSelector('#explain[data-state="done"]');
  const cliEx = JSON.parse(run(["trust", "explain", target, "--from", V, "--json"]));
  const ex = await page.$eval("#explain", (e) => ({ ...e.dataset }));
  const exEdges = await page.$$eval("#explain tr.explain-edge", (els) => els.map((e) => [e.dataset.from, e.dataset.to]));
  const exOthers = await page.$$eval("#explain tr.explain-other", (els) => els.map((e) => [e.dataset.via, e.dataset.score === "" ? null : Number(e.dataset.score), e.dataset.outcome]));
  check(Number(ex.score) === cliEx.score && Number(ex.product) === cliEx.product && Number(ex.decayFactor) === cliEx.decay_factor &&
    Number(ex.decayIndex) === cliEx.decay_index,
    `explanation: product ${ex.product} × decay[${ex.decayIndex}] ${ex.decayFactor} = ${ex.score} = mesh trust explain --json`);
  check(JSON.stringify(exEdges) === JSON.stringify(cliEx.path.map((e) => [e.from, e.to])), `explanation: the best path's ${exEdges.length} edges`);
  check(JSON.stringify(exOthers) === JSON.stringify((cliEx.others || []).map((o) => [o.via, o.score ?? null, o.outcome])),
    `explanation: ${exOthers.length} other last hops with why they lost (${[...new Set(exOthers.map((o) => o[2]))].join(", ")}) = mesh trust explain --json`);
  await page.$eval("#explain", (e) => e.scrollIntoView());
  await shot("explain.png");

  // 3b. "Download proof": the node's portable proof of that path, saved as a
  // file whose first line is the signed header; mesh proof verify accepts it.
  await page.waitForSelector("#path-proof:not(.hidden)");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#path-proof")]);
  const proofFile = path.join(artifacts, "proof.ndjson");
  await download.saveAs(proofFile);
  let head = null;
  try { head = JSON.parse(fs.readFileSync(proofFile, "utf8").split("\n")[0]); } catch { /* checked below */ }
  check(head && head.proof === 1 && head.from === V && head.to === target,
    `downloaded proof (${download.suggestedFilename()}): first line is a JSON header with "proof":1`);
  check(head && head.prover === nodeId && typeof head.sig === "string", "the proof is signed by the node's ID");
  const verified = JSON.parse(execFileSync(mesh, ["proof", "verify", proofFile, "--json"], { env, encoding: "utf8" }));
  check(verified.valid === true && verified.score === cliPath.score,
    `mesh proof verify accepts the downloaded proof (score ${verified.score} = ${cliPath.score})`);
  await page.waitForFunction(() => /^saved/.test(document.querySelector("#path-proof-status").textContent));

  // 3c. "@name" in the path explorer stands for the named ID.
  await page.fill("#path-from", "@e2e-hub");
  await page.fill("#path-target", "@e2e-target");
  await page.evaluate(() => { delete document.querySelector("#path-result").dataset.found; });
  await page.click("#path-form button[type=submit]");
  await page.waitForSelector("#path-result[data-found]");
  const hops2 = await page.$$eval("#path-result .path-edge", (els) => els.map((e) => [e.dataset.from, e.dataset.to]));
  check(JSON.stringify(hops2) === JSON.stringify(cliHops), "path explorer accepts @name for From and Target");
  check(pageErrors.length === 0, `no uncaught errors in the page (${pageErrors.slice(0, 3).join(" | ")})`);

  // 4. Render time of a 5,000+ node view (logged, not asserted): OTC at depth 4.
  await page.click("nav button[data-tab=graph]");
  await page.fill("#graph-from", V2);
  await page.fill("#graph-depth", "4");
  const t0 = Date.now();
  await page.click("#graph-form button[type=submit]");
  await page.waitForFunction(() => /nodes, .* edges in view/.test(document.querySelector("#graph-status").textContent) && Number(document.querySelector("#graph-status").dataset.nodes) > 3000);
  const big = await page.evaluate(() => window.meshDashboard);
  const ph = Object.entries(big.phases).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");
  console.log(`render: ${big.renderedNodes} nodes in ${big.renderMs.toFixed(0)} ms in-page (${ph} ms; ${Date.now() - t0} ms wall; load ${os.loadavg()[0].toFixed(1)})`);
  await shot("graph-depth4.png");

  // 4b. Peers and audit tabs render (names where known) without page errors.
  await page.click("nav button[data-tab=peers]");
  await page.waitForFunction(() => document.querySelector("#peers").textContent.length > 0);
  await shot("peers.png");
  await page.click("nav button[data-tab=audit]");
  await page.waitForFunction(() => /Recent statements/.test(document.querySelector("#audit").textContent));
  await shot("audit.png");
  await page.click("nav button[data-tab=graph]");
  await page.waitForTimeout(500);
  clean("across every tab");

  // 5. A wrong token is reported as such.
  const p2 = await browser.newPage();
  await p2.goto(`${base}/#token=${"0".repeat(64)}`);
  await p2.waitForSelector("#banner:not(.hidden)");
  const b2 = await p2.textContent("#banner");
  check(/refused the access token/.test(b2), `wrong token: "${b2.slice(0, 60)}…"`);
  await p2.screenshot({ path: path.join(artifacts, "wrong-token.png") });

  // 6. A stopped node is reported as unreachable.
  stopNode();
  await new Promise((r) => setTimeout(r, 500));
  await page.click("#graph-form button[type=submit]");
  await page.waitForSelector("#banner:not(.hidden)");
  const b3 = await page.textContent("#banner");
  check(/Cannot reach the node/.test(b3), `node stopped: "${b3.slice(0, 60)}…"`);
  check(pageErrors.length === 0, `no uncaught errors in the page at the end (${pageErrors.slice(0, 3).join(" | ")})`);
  await page.screenshot({ path: path.join(artifacts, "node-stopped.png") });
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack || e}`);
} finally {
  stopNode();
  if (browser) await browser.close();
  fs.rmSync(home, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
