// The network explorer: polls GET /v1/triad/network and draws groups, nodes, tasks with their commit/reveal
// timeline, and latency and throughput plots. No framework: plain DOM and SVG.
const REFRESH_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";

const short = (address) => `${address.slice(0, 6)}…${address.slice(-4)}`;
const tokens = (wei) => (Number(BigInt(wei) / 10n ** 14n) / 10_000).toString();

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(id, rows) {
  const body = document.querySelector(`#${id} tbody`);
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells);
      return tr;
    }),
  );
}

function svgElement(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  return element;
}

function timeline(task, scale) {
  const svg = svgElement("svg", { viewBox: "0 0 220 16", "data-task": task.taskId });
  const t0 = task.timeline.created;
  const x = (t) => Math.min(218, 2 + (t - t0) * scale);
  if (task.timeline.started !== undefined) {
    svg.append(svgElement("rect", { x: 2, y: 6, width: Math.max(1, x(task.timeline.started) - 2), height: 4, fill: "#999" }));
  }
  for (const t of Object.values(task.timeline.commits))
    svg.append(svgElement("rect", { x: x(t), y: 2, width: 2, height: 12, fill: "#4a7bd0", class: "commit" }));
  for (const t of Object.values(task.timeline.reveals))
    svg.append(svgElement("rect", { x: x(t), y: 2, width: 2, height: 12, fill: "#e69b00", class: "reveal" }));
  if (task.timeline.ended !== undefined) {
    svg.append(
      svgElement("circle", { cx: x(task.timeline.ended), cy: 8, r: 4, fill: task.status === "succeeded" ? "#1b7f3b" : "#b00020" }),
    );
  }
  return svg;
}

function plotPoints(svg, points, { bars = false } = {}) {
  svg.replaceChildren();
  if (points.length === 0) {
    const text = svgElement("text", { x: 200, y: 95, "text-anchor": "middle", fill: "#888", "font-size": 14 });
    text.textContent = "no settled task yet";
    svg.append(text);
    return;
  }
  const maxY = Math.max(1, ...points.map((p) => p.y));
  const width = 400 / points.length;
  const label = svgElement("text", { x: 4, y: 14, fill: "#555", "font-size": 12 });
  label.textContent = `max ${maxY}`;
  svg.append(label);
  points.forEach((p, i) => {
    const h = (p.y / maxY) * 150;
    const attributes = bars
      ? { x: i * width + 1, y: 175 - h, width: Math.max(1, width - 2), height: h, fill: p.color }
      : { cx: (i + 0.5) * width, cy: 175 - h, r: 3, fill: p.color };
    svg.append(svgElement(bars ? "rect" : "circle", { ...attributes, class: "point" }));
  });
}

function render(snapshot) {
  document.querySelector("#head").textContent =
    `block ${snapshot.head.number} at ${new Date(snapshot.head.time * 1000).toISOString()} · ${snapshot.groups.length} groups · ` +
    `${snapshot.nodes.length} nodes · ${snapshot.tasks.length} recent tasks`;
  fillTable(
    "groups",
    snapshot.groups.map((g) => [cell(g.groupId), cell(g.cardModel), cell(`${g.vramGb} GB`), cell(String(g.nodes))]),
  );
  fillTable(
    "nodes",
    snapshot.nodes.map((n) => [
      cell(n.address, "mono"),
      cell(n.groupId),
      cell(tokens(n.stake)),
      cell(n.status),
      cell(String(n.tasks)),
      cell(n.slashes ? `${n.slashes} (${tokens(n.slashedAmount)} TRIAD)` : "0", n.slashes ? "slashed" : ""),
    ]),
  );
  const longest = Math.max(10, ...snapshot.tasks.map((t) => (t.timeline.ended ?? snapshot.head.time) - t.timeline.created));
  fillTable(
    "tasks",
    snapshot.tasks.map((t) => {
      const line = document.createElement("td");
      line.className = "timeline";
      line.append(timeline(t, 216 / longest));
      const nodes = t.nodes.map((n) => (t.slashed.includes(n) ? `${short(n)} (slashed)` : short(n))).join(", ");
      return [
        cell(t.taskId),
        cell(t.status, `status-${t.status}`),
        cell(t.groupId ?? "-"),
        cell(nodes || "-", "mono"),
        line,
        cell(t.resultHash ? short(t.resultHash) : (t.abortReason ?? ""), "mono"),
      ];
    }),
  );
  const color = (status) => (status === "succeeded" ? "#1b7f3b" : "#b00020");
  plotPoints(
    document.querySelector("#latency"),
    snapshot.latency.map((l) => ({ y: l.seconds, color: color(l.status) })),
  );
  plotPoints(
    document.querySelector("#throughput"),
    snapshot.throughput.map((b) => ({ y: b.succeeded + b.aborted, color: b.aborted ? "#b00020" : "#1b7f3b" })),
    { bars: true },
  );
}

async function refresh() {
  try {
    const response = await fetch("/v1/triad/network");
    const body = await response.json();
    if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
    document.querySelector("#error").textContent = "";
    render(body);
  } catch (error) {
    document.querySelector("#error").textContent = `could not load the network: ${error.message}`;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

refresh();
