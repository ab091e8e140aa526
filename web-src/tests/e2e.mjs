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
  const cliMetrics = JSON.parse(run(["metrics", "--json"]));
  console.log(`viewpoint ${V} (member ${hub}); expecting ${expectNodes} nodes at depth 2; gini ${cliMetrics.gini}`);
  // Local names (mesh name set), set before the node starts: the dashboard
  // shows them next to the IDs (GET /v1/names).
  run(["name", "set", V, "e2e-hub"]);
  run(["name", "set", target, "e2e-target"]);
  const nodeId = JSON.parse(run(["id", "--json"])).node_id;
  const unnamed = list.results.find((r) => r.hops === 1 && r.node_id !== target).node_id;

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

  // 1. Graph: the right node count around the viewpoint.
  await page.goto(`${base}/#token=${token}`);
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
  await page.screenshot({ path: path.join(artifacts, "graph.png") });

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
  await page.screenshot({ path: path.join(artifacts, "scopes.png") });

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
  await page.screenshot({ path: path.join(artifacts, "path.png") });

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
  await page.screenshot({ path: path.join(artifacts, "graph-depth4.png") });

  // 4b. Peers and audit tabs render (names where known) without page errors.
  await page.click("nav button[data-tab=peers]");
  await page.waitForFunction(() => document.querySelector("#peers").textContent.length > 0);
  await page.click("nav button[data-tab=audit]");
  await page.waitForFunction(() => /Recent statements/.test(document.querySelector("#audit").textContent));
  check(pageErrors.length === 0, `no uncaught errors after the peers and audit tabs (${pageErrors.slice(0, 3).join(" | ")})`);
  await page.click("nav button[data-tab=graph]");

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
