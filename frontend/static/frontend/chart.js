// The training chart of the exercise page: a small canvas plot (no library) of the metrics a
// run reports, with a caption and a table of each metric's last and lowest values.
(function () {
  "use strict";

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // A diverging run logs NaN or infinite losses; they arrive as the strings "NaN", "Infinity" and
  // "-Infinity" (gpu_runner/wire.py jsonsafe, docs/result-schema.md). They are gaps in the line,
  // never a point at 0 or a value carried over, and are shown by name in the caption and table.
  var COLORS = ["#3442b8", "#c2410c", "#12703a", "#9333ea"];
  function metricValue(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function metricText(v) {
    if (typeof v === "number" && isFinite(v)) return String(Math.round(v * 10000) / 10000);
    if (v === "Infinity" || v === Infinity) return "∞";
    if (v === "-Infinity" || v === -Infinity) return "−∞";
    return "NaN";
  }
  function chartAdd(series, name, points) {
    if (!points.length) return;
    var read = points.filter(function (p) { return p && typeof p[0] === "number" && isFinite(p[0]); })
      .map(function (p) { return { step: p[0], y: metricValue(p[1]), raw: p[1] }; });
    series[name] = (series[name] || []).concat(read);
    $("chart-box").hidden = false;
    draw(series);
  }
  // Runs of finite points; a non-finite point ends one.
  function segments(pts) {
    var out = [], run = [];
    pts.forEach(function (p) {
      if (p.y === null) { if (run.length) out.push(run); run = []; } else run.push(p);
    });
    if (run.length) out.push(run);
    return out;
  }
  function draw(series) {
    var canvas = $("loss-chart"), ctx = canvas.getContext("2d"), dpr = window.devicePixelRatio || 1;
    var w = canvas.width = canvas.clientWidth * dpr;
    var h = canvas.height = 220 * dpr;
    var names = Object.keys(series).filter(function (n) { return series[n].length; }), all = [];
    if (!names.length) return;
    names.forEach(function (n) { all = all.concat(series[n]); });
    var finite = all.filter(function (p) { return p.y !== null; });
    var xs = all.map(function (p) { return p.step; }), ys = finite.map(function (p) { return p.y; });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    var y0 = ys.length ? Math.min.apply(null, ys) : 0, y1 = ys.length ? Math.max.apply(null, ys) : 1;
    if (x1 === x0) x1 = x0 + 1;
    if (y1 === y0) y1 = y0 + 1;
    var pad = 40 * dpr, style = getComputedStyle(document.documentElement);
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = style.getPropertyValue("--border"); ctx.fillStyle = style.getPropertyValue("--muted");
    ctx.font = (11 * dpr) + "px sans-serif";
    ctx.strokeRect(pad, 8, w - pad - 8, h - pad);
    if (ys.length) { ctx.fillText(y1.toFixed(3), 2, 18); ctx.fillText(y0.toFixed(3), 2, h - pad); }
    ctx.fillText(String(x0), pad, h - pad / 3); ctx.fillText(String(x1), w - pad, h - pad / 3);
    names.forEach(function (n, i) {
      ctx.strokeStyle = ctx.fillStyle = COLORS[i % COLORS.length]; ctx.lineWidth = 2 * dpr;
      segments(series[n]).forEach(function (run) {
        var at = run.map(function (p) {
          return [pad + (p.step - x0) / (x1 - x0) * (w - pad - 8), 8 + (1 - (p.y - y0) / (y1 - y0)) * (h - pad - 8)];
        });
        if (at.length === 1) { // a lone finite value between gaps: a dot, or it would not show
          ctx.beginPath(); ctx.arc(at[0][0], at[0][1], 2.5 * dpr, 0, 2 * Math.PI); ctx.fill();
          return;
        }
        ctx.beginPath();
        at.forEach(function (xy, j) { if (j) ctx.lineTo(xy[0], xy[1]); else ctx.moveTo(xy[0], xy[1]); });
        ctx.stroke();
      });
    });
    var last = names.map(function (n) { var p = series[n][series[n].length - 1]; return n + " " + metricText(p.raw) + " at step " + p.step; });
    $("chart-caption").textContent = last.join(" · ");
    $("loss-chart").setAttribute("aria-label", "Live training chart: " + last.join(", "));
    metricTable(series, names);
  }
  function metricTable(series, names) {
    var body = $("metric-rows");
    if (!body) return;
    body.textContent = "";
    names.forEach(function (n) {
      var pts = series[n], finite = pts.filter(function (p) { return p.y !== null; });
      var lowest = finite.length ? Math.min.apply(null, finite.map(function (p) { return p.y; })) : NaN;
      var tr = el("tr");
      [n, metricText(pts[pts.length - 1].raw), metricText(lowest), String(pts.length - finite.length)].forEach(function (text, i) {
        tr.appendChild(el(i ? "td" : "th", "", text));
      });
      body.appendChild(tr);
    });
  }

  // Histograms a run draws with check.histogram (a layer's activations, its gradients): one small
  // bar chart per name, with a slider through the steps it was drawn at (the last one shown).
  var MAX_STEPS = 20;
  function histAdd(hists, name, h) {
    if (!h || !Array.isArray(h.counts) || !h.counts.length || typeof h.lo !== "number" || typeof h.hi !== "number") return;
    var list = hists[name] = (hists[name] || []).filter(function (x) { return x.step !== h.step; });
    list.push({ step: h.step, lo: h.lo, hi: h.hi, counts: h.counts.slice(0, 100) });
    list.sort(function (a, b) { return a.step - b.step; });
    if (list.length > MAX_STEPS) list.splice(0, list.length - MAX_STEPS);
    histRender(hists, name);
  }
  function histPanel(name) {
    var box = $("hist-box"), id = "hist-" + Array.prototype.map.call(name, function (c) { return c.charCodeAt(0).toString(16); }).join("");
    var fig = document.getElementById(id);
    if (fig) return fig;
    fig = el("figure", "hist"); fig.id = id; fig.setAttribute("data-name", name);
    var canvas = el("canvas"); canvas.setAttribute("role", "img"); canvas.height = 90;
    var cap = el("figcaption", "small muted");
    var slider = el("input"); slider.type = "range"; slider.min = "0"; slider.hidden = true;
    slider.setAttribute("aria-label", "Step of " + name);
    fig.appendChild(canvas); fig.appendChild(cap); fig.appendChild(slider);
    box.appendChild(fig);
    box.hidden = false;
    return fig;
  }
  function histRender(hists, name, index) {
    var list = hists[name], fig = histPanel(name), canvas = fig.querySelector("canvas");
    var slider = fig.querySelector("input");
    if (index === undefined) index = list.length - 1;
    slider.max = String(list.length - 1); slider.value = String(index); slider.hidden = list.length < 2;
    slider.oninput = function () { histRender(hists, name, Number(slider.value)); };
    var h = list[index], dpr = window.devicePixelRatio || 1, ctx = canvas.getContext("2d");
    var w = canvas.width = (canvas.clientWidth || 200) * dpr, ht = canvas.height = 90 * dpr;
    var top = Math.max.apply(null, h.counts) || 1, bw = w / h.counts.length;
    var style = getComputedStyle(document.documentElement);
    ctx.clearRect(0, 0, w, ht);
    ctx.fillStyle = COLORS[0];
    h.counts.forEach(function (c, i) {
      var bh = c / top * (ht - 2);
      ctx.fillRect(i * bw, ht - bh, Math.max(1, bw - dpr), bh);
    });
    ctx.strokeStyle = style.getPropertyValue("--border"); ctx.strokeRect(0, 0, w, ht);
    var total = h.counts.reduce(function (a, b) { return a + b; }, 0);
    var text = name + " · step " + h.step + " · [" + metricText(h.lo) + ", " + metricText(h.hi) + "] · " + total + " values";
    fig.querySelector("figcaption").textContent = text;
    canvas.setAttribute("aria-label", "Histogram of " + text);
  }
  function histReset() {
    var box = $("hist-box");
    if (!box) return;
    box.textContent = ""; box.hidden = true;
  }

  window.FromScratchChart = { add: chartAdd, segments: segments, text: metricText, hist: histAdd, histReset: histReset };
})();
