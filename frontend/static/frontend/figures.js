// Figures a learner's run draws from their own objects (check.heatmap / check.scatter /
// check.graph): an attention map, a 2-D embedding table, an expression graph, a BPE merge tree.
// The data was validated and bounded on the trusted side (gpu_runner/wire.py figure); every label
// is written as text (textContent, fillText), never parsed as markup.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name);
    return (v && v.trim()) || fallback;
  }
  function finite(v) { return typeof v === "number" && isFinite(v); }
  function short(v) { return finite(v) ? String(Math.round(v * 1000) / 1000) : "—"; }

  function heatmap(fig, data) {
    var rows = data.values || [], n = rows.length, m = n ? rows[0].length : 0;
    var all = [].concat.apply([], rows).filter(finite);
    var lo = all.length ? Math.min.apply(null, all) : 0, hi = all.length ? Math.max.apply(null, all) : 1;
    if (hi === lo) hi = lo + 1;
    var cell = Math.max(6, Math.min(28, Math.floor(420 / Math.max(n, m)))), left = data.rows ? 48 : 4, top = data.cols ? 48 : 4;
    var dpr = window.devicePixelRatio || 1, canvas = el("canvas");
    canvas.style.width = (left + m * cell + 4) + "px"; canvas.style.height = (top + n * cell + 4) + "px";
    canvas.width = (left + m * cell + 4) * dpr; canvas.height = (top + n * cell + 4) * dpr;
    var ctx = canvas.getContext("2d"); ctx.scale(dpr, dpr);
    rows.forEach(function (row, i) {
      row.forEach(function (v, j) {
        if (finite(v)) {
          var t = (v - lo) / (hi - lo);  // white (low) to the accent colour (high)
          ctx.fillStyle = "rgb(" + Math.round(255 - 203 * t) + "," + Math.round(255 - 189 * t) + "," + Math.round(255 - 71 * t) + ")";
        } else {
          ctx.fillStyle = cssVar("--border", "#ccc");
        }
        ctx.fillRect(left + j * cell, top + i * cell, cell - 1, cell - 1);
      });
    });
    ctx.fillStyle = cssVar("--muted", "#555"); ctx.font = "10px sans-serif";
    (data.rows || []).forEach(function (label, i) { ctx.fillText(label.slice(0, 7), 2, top + i * cell + cell * 0.7); });
    (data.cols || []).forEach(function (label, j) {
      ctx.save(); ctx.translate(left + j * cell + cell * 0.7, top - 4); ctx.rotate(-Math.PI / 2);
      ctx.fillText(label.slice(0, 7), 0, 0); ctx.restore();
    });
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", n + " by " + m + " heatmap, values from " + short(lo) + " to " + short(hi));
    fig.appendChild(canvas);
    return n + "×" + m + ", " + short(lo) + " to " + short(hi);
  }

  function scatter(fig, data) {
    var pts = (data.points || []).map(function (p, i) { return { x: p[0], y: p[1], label: (data.labels || [])[i] }; })
      .filter(function (p) { return finite(p.x) && finite(p.y); });
    var xs = pts.map(function (p) { return p.x; }), ys = pts.map(function (p) { return p.y; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
    if (!pts.length) { x0 = y0 = 0; x1 = y1 = 1; }
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) y1 = y0 + 1;
    var size = 320, pad = 16, dpr = window.devicePixelRatio || 1, canvas = el("canvas");
    canvas.style.width = size + "px"; canvas.style.height = size + "px";
    canvas.width = canvas.height = size * dpr;
    var ctx = canvas.getContext("2d"); ctx.scale(dpr, dpr);
    ctx.strokeStyle = cssVar("--border", "#ccc"); ctx.strokeRect(0.5, 0.5, size - 1, size - 1);
    ctx.font = "12px sans-serif";
    pts.forEach(function (p) {
      var x = pad + (p.x - x0) / (x1 - x0) * (size - 2 * pad), y = size - pad - (p.y - y0) / (y1 - y0) * (size - 2 * pad);
      ctx.fillStyle = "#3442b8"; ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI); ctx.fill();
      if (p.label) { ctx.fillStyle = cssVar("--text", "#111"); ctx.fillText(p.label, x + 4, y - 4); }
    });
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", "Scatter plot of " + pts.length + " points");
    fig.appendChild(canvas);
    return pts.length + " points";
  }

  // Layers by longest path from the sources (nodes nothing points at), left to right.
  function layers(nodes, edges) {
    var depth = {}, incoming = {};
    nodes.forEach(function (n) { depth[n[0]] = 0; incoming[n[0]] = 0; });
    edges.forEach(function (e) { incoming[e[1]] += 1; });
    for (var round = 0; round < nodes.length; round++) {  // Bellman-Ford style; stops early
      var changed = false;
      edges.forEach(function (e) {
        if (depth[e[1]] < depth[e[0]] + 1 && depth[e[0]] + 1 < nodes.length) { depth[e[1]] = depth[e[0]] + 1; changed = true; }
      });
      if (!changed) break;
    }
    return depth;
  }
  function graph(fig, data) {
    var nodes = data.nodes || [], edges = data.edges || [], depth = layers(nodes, edges), slots = {}, at = {};
    var colW = 170, rowH = 34, boxW = 150, boxH = 24, maxRow = 0, maxCol = 0;
    nodes.forEach(function (n) {
      var d = depth[n[0]], r = slots[d] = (slots[d] || 0) + 1;
      at[n[0]] = { x: 8 + d * colW, y: 8 + (r - 1) * rowH };
      maxRow = Math.max(maxRow, r); maxCol = Math.max(maxCol, d);
    });
    var w = 16 + (maxCol + 1) * colW, h = 16 + maxRow * rowH;
    var root = svg("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, role: "img", "aria-label": "Graph of " + nodes.length + " nodes" });
    edges.forEach(function (e) {
      var a = at[e[0]], b = at[e[1]];
      root.appendChild(svg("line", { x1: a.x + boxW, y1: a.y + boxH / 2, x2: b.x, y2: b.y + boxH / 2, stroke: cssVar("--muted", "#777"), "stroke-width": 1 }));
    });
    nodes.forEach(function (n) {
      var p = at[n[0]], g = svg("g", { "data-node": n[0] });
      g.appendChild(svg("rect", { x: p.x, y: p.y, width: boxW, height: boxH, rx: 4, fill: cssVar("--surface", "#fff"), stroke: "#3442b8" }));
      var t = svg("text", { x: p.x + 6, y: p.y + 16, "font-size": 11, fill: cssVar("--text", "#111") }, n[1].slice(0, 24));
      t.appendChild(svg("title", {}, n[1]));
      g.appendChild(t);
      root.appendChild(g);
    });
    var scroll = el("div", "fig-scroll"); scroll.appendChild(root); fig.appendChild(scroll);
    return nodes.length + " nodes, " + edges.length + " edges";
  }

  var DRAW = { heatmap: heatmap, scatter: scatter, graph: graph };

  // Draw `data` under `name` in `box` (replacing an earlier figure of that name).
  function show(box, name, data) {
    if (!box || !data || !DRAW[data.kind]) return;
    var old = Array.prototype.filter.call(box.children, function (c) { return c.getAttribute("data-name") === name; });
    old.forEach(function (c) { box.removeChild(c); });
    var fig = el("figure", "figure-card"); fig.setAttribute("data-name", name); fig.setAttribute("data-kind", data.kind);
    var caption = el("figcaption", "small muted");
    fig.appendChild(caption);
    var about = DRAW[data.kind](fig, data);
    caption.textContent = name + " · " + about;
    box.appendChild(fig);
    box.hidden = false;
  }
  function reset(box) { if (box) { box.textContent = ""; box.hidden = true; } }

  window.FromScratchFigures = { show: show, reset: reset };

  // Lesson pages: figures from the learner's own latest runs, embedded by the server.
  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("lesson-figures-data"), box = document.getElementById("lesson-figures");
    if (!source || !box) return;
    var items = JSON.parse(source.textContent || "[]");
    items.forEach(function (item) { if (item.figure) show(box, item.label || item.name, item.figure); });
  });
})();
