// ForceAtlas2 for large views, off the main thread. A same-origin module
// worker (the CSP allows script-src 'self' only, so the blob: worker of
// graphology-layout-forceatlas2/worker is refused): positions in, batches of
// iterations, positions out until stopped or the time is up.
import Graph from "graphology";
import forceAtlas2 from "graphology-layout-forceatlas2";

let g = null, ids = [], settings = null, running = false, until = 0;

function step() {
  if (!running || Date.now() > until) { running = false; postMessage({ type: "done" }); return; }
  forceAtlas2.assign(g, { iterations: 3, settings });
  const xy = new Float32Array(ids.length * 2);
  ids.forEach((id, i) => { const a = g.getNodeAttributes(id); xy[2 * i] = a.x; xy[2 * i + 1] = a.y; });
  postMessage({ type: "xy", xy }, [xy.buffer]);
  setTimeout(step, 0);
}

self.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "start") {
    g = new Graph({ type: "directed", multi: false });
    ids = m.ids;
    ids.forEach((id, i) => g.addNode(id, { x: m.xy[2 * i], y: m.xy[2 * i + 1], size: m.size[i] }));
    for (let i = 0; i < m.edges.length / 2; i++) {
      const a = ids[m.edges[2 * i]], b = ids[m.edges[2 * i + 1]];
      if (!g.hasEdge(a, b)) g.addEdge(a, b, { weight: m.weights[i] });
    }
    settings = { ...forceAtlas2.inferSettings(g), barnesHutOptimize: true };
    running = true;
    until = Date.now() + m.ms;
    step();
  } else if (m.type === "stop") running = false;
};
