// The exercise page: file tabs over CodeMirror editors, autosave, Run/Submit, and the live
// result stream (queue phase, per-test cards, loss chart, verdict). Every piece of text that
// comes from code, tests or the grader is inserted with textContent: nothing is parsed as HTML.
(function () {
  "use strict";

  var data, editors = {}, order = [], active = null, saveTimer = null, stream = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (json) { json._status = r.status; return json; });
    });
  }

  // --- editors and tabs -------------------------------------------------------------------------
  function buildEditors() {
    var host = $("editor-host"), tabs = $("file-tabs");
    data.editable.forEach(function (name) { order.push({ name: name, readonly: false, text: data.files[name] || "" }); });
    Object.keys(data.readonly).forEach(function (name) { order.push({ name: name, readonly: true, text: data.readonly[name] }); });
    order.forEach(function (file, i) {
      var tab = el("button", "", file.name + (file.readonly ? " (read-only)" : ""));
      tab.setAttribute("role", "tab");
      tab.id = "ftab-" + i;
      tab.setAttribute("aria-controls", "fpanel-" + i);
      tab.addEventListener("click", function () { show(i, true); });
      tab.addEventListener("keydown", function (e) { tabKeys(e, i); });
      tabs.appendChild(tab);
      var panel = el("div", "editor-panel");
      panel.id = "fpanel-" + i;
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", tab.id);
      host.appendChild(panel);
      editors[file.name] = window.FromScratchEditor.create(panel, {
        doc: file.text, readOnly: file.readonly, label: file.name + (file.readonly ? ", read-only" : ", editor"),
        onRun: function () { start("run"); }, onSubmit: function () { start("submit"); },
        onChange: file.readonly ? null : scheduleSave,
      });
      file.tab = tab; file.panel = panel;
    });
    show(0, false);
  }

  function show(i, focus) {
    order.forEach(function (f, j) {
      var on = i === j;
      f.tab.setAttribute("aria-selected", on ? "true" : "false");
      f.tab.tabIndex = on ? 0 : -1;
      f.panel.hidden = !on;
    });
    active = i;
    if (focus) order[i].tab.focus();
  }

  function tabKeys(e, i) {
    var next = null;
    if (e.key === "ArrowRight") next = (i + 1) % order.length;
    if (e.key === "ArrowLeft") next = (i - 1 + order.length) % order.length;
    if (e.key === "Home") next = 0;
    if (e.key === "End") next = order.length - 1;
    if (next !== null) { e.preventDefault(); show(next, true); }
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); editors[order[i].name].focus(); }
  }

  function currentFiles() {
    var files = {};
    data.editable.forEach(function (name) { files[name] = editors[name].getDoc(); });
    return files;
  }

  // --- prompt-side tabs (Task / Visible tests / History) -----------------------------------------
  function promptTabs() {
    var tabs = Array.prototype.slice.call(document.querySelectorAll("[data-ptab]"));
    function select(tab, focus) {
      tabs.forEach(function (t) {
        var on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        $(t.getAttribute("aria-controls")).hidden = !on;
      });
      if (focus) tab.focus();
    }
    tabs.forEach(function (tab, i) {
      tab.addEventListener("click", function () { select(tab, false); });
      tab.addEventListener("keydown", function (e) {
        if (e.key === "ArrowRight") { e.preventDefault(); select(tabs[(i + 1) % tabs.length], true); }
        if (e.key === "ArrowLeft") { e.preventDefault(); select(tabs[(i - 1 + tabs.length) % tabs.length], true); }
      });
    });
  }

  // --- autosave -----------------------------------------------------------------------------------
  function setSaveState(text) { $("save-state").textContent = text; }
  function scheduleSave() {
    setSaveState("Unsaved changes…");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveNow, 1000);
  }
  function saveNow() {
    clearTimeout(saveTimer);
    return post(data.endpoints.draft, { files: currentFiles() }).then(function (r) {
      setSaveState(r._status === 200 ? "Saved" : "Not saved: " + (r.error || "error " + r._status));
    }, function () { setSaveState("Not saved: offline? Retrying on the next change."); });
  }

  function reset() {
    if (!window.confirm("Replace your code with the starter code? Your current draft will be lost (submissions are kept).")) return;
    post(data.endpoints.reset, {}).then(function (r) {
      if (r.files) {
        Object.keys(r.files).forEach(function (name) { if (editors[name]) editors[name].setDoc(r.files[name]); });
        clearTimeout(saveTimer);
        setSaveState("Reset to the starter code");
      }
    });
  }

  // --- run / submit -------------------------------------------------------------------------------
  function busy(flag) {
    $("run-btn").disabled = flag;
    $("submit-btn").disabled = flag;
  }

  function start(kind) {
    if ($("run-btn").disabled) return;
    busy(true);
    clearTimeout(saveTimer);
    saveNow();
    post(data.endpoints.submit, { kind: kind, files: currentFiles() }).then(function (r) {
      showLimits(r.quota);
      if (r._status !== 201) {
        busy(false);
        showStatus();
        setPhase("", "");
        verdict("error", r.error || "The submission was not accepted (" + r._status + ").");
        return;
      }
      openStream(r.id, r.ws, kind);
      // Near the cap on queued submissions: say so now, not when the next one is refused.
      if (r.quota && r.quota.warning) note(r.quota.warning);
    }, function () { busy(false); verdict("error", "Could not reach the server. Check your connection and try again."); });
  }

  // The course's submit window and weekly GPU budget (courses/policies.py), kept current after
  // each submit (and each refusal), so the learner sees what is left before running out.
  function showLimits(quota) {
    if (!quota) return;
    [["window", "policy-window", " Run does not count."], ["gpu", "policy-gpu", ""]].forEach(function (k) {
      var state = quota[k[0]], node = $(k[1]);
      if (!state || !node) return;
      node.textContent = state.message + k[2];
      node.classList.toggle("policy-exhausted", state.left <= 0);
    });
  }

  // --- the live stream ----------------------------------------------------------------------------
  function Stream(id, url, kind) {
    this.id = id; this.url = url; this.kind = kind;
    this.seen = {}; this.last = 0; this.done = false; this.retry = 0; this.attempt = null;
    this.cards = {}; this.finished = 0; this.total = 0; this.series = {}; this.hists = {};
    resetResults();
    this.connect();
  }
  Stream.prototype.connect = function () {
    var self = this, scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = this.ws = new WebSocket(scheme + location.host + this.url);
    ws.onopen = function () { self.retry = 0; ws.send(JSON.stringify({ type: "resume", after: self.last })); };
    ws.onmessage = function (m) {
      var msg;
      try { msg = JSON.parse(m.data); } catch (e) { return; }
      if (msg.type === "event") self.handle(msg.event);
    };
    ws.onclose = function (e) {
      if (self.done || stream !== self) return;
      if (e.code === 4401 || e.code === 4403) { verdict("error", "Your session ended: reload the page and sign in again."); busy(false); return; }
      // Doubling waits up to 10 s, each drawn from its upper half: after a deploy every open page
      // lost its socket at once, and without the spread they would all knock again together.
      var wait = Math.min(10000, 500 * Math.pow(2, self.retry++)) * (0.5 + Math.random() / 2);
      setPhase("reconnecting", "Connection lost, reconnecting…");
      setTimeout(function () { if (!self.done && stream === self) self.connect(); }, wait);
    };
  };
  Stream.prototype.close = function () { this.done = true; if (this.ws) this.ws.close(); };
  Stream.prototype.handle = function (ev) {
    if (typeof ev.seq !== "number" || this.seen[ev.seq]) return;
    this.seen[ev.seq] = true;
    while (this.seen[this.last + 1]) this.last++;
    if (this.attempt !== null && ev.attempt > this.attempt) { resetResults(); this.cards = {}; this.finished = 0; }
    if (ev.attempt) this.attempt = Math.max(this.attempt || 0, ev.attempt);
    var t = ev.type;
    if (t === "queued") {
      this.total = ev.total || (ev.tests || []).length;
      setPhase("queued", "Queued" + (ev.position > 1 ? " — position " + ev.position + " in the " + ev.queue + " queue" : "") + "…");
      var self = this;
      (ev.tests || []).forEach(function (test) { self.card(test.id, test.name); });
      if (ev.own_code) {
        Object.keys(ev.own_code).forEach(function (slug) {
          if (ev.own_code[slug] === "reference") note("Using the reference solution of " + slug + " (you have not passed it yet).");
        });
      }
    } else if (t === "restarted") {
      // The worker grading this was lost mid-run; the same attempt starts again from the first test.
      this.finished = 0;
      progress(0, this.total);
      setPhase("running", "The machine grading this stopped; starting again…");
    } else if (t === "running") {
      setPhase("running", "Running on " + (ev.device === "cuda" ? "a GPU" : "the CPU") + (ev.cpu_fallback ? " (CPU fallback: a smaller configuration)" : "") + "…");
    } else if (t === "test_started") {
      var c = this.card(ev.test);
      c.li.classList.add("running");
      c.status.textContent = "running";
      c.status.className = "badge badge-info";
    } else if (t === "test") {
      this.fill(ev.result);
      this.finished = Math.max(this.finished, (ev.index || 0) + 1);
      progress(this.finished, ev.total || this.total);
    } else if (t === "log") {
      var card = this.cards[ev.test];
      if (card) { card.live.hidden = false; card.live.textContent += ev.line + "\n"; }
    } else if (t === "metric") {
      chartAdd(this.series, ev.name, ev.points || []);
    } else if (t === "histogram") {
      window.FromScratchChart.hist(this.hists, ev.name, ev);
    } else if (t === "figure") {
      window.FromScratchFigures.show($("fig-box"), ev.name, ev);
    } else if (t === "progress") {
      progress(Math.round((ev.fraction || 0) * 100), 100, ev.label);
    } else if (t === "syntax") {
      verdict("failed", ev.message);
    } else if (t === "grading") {
      setPhase("grading", "Grading…");
    } else if (t === "result") {
      this.finish(ev);
    } else if (t === "recorded") {
      if (ev.kind !== "run") updateProgressBadge({ status: ev.passed ? "passed" : "failed" });
      this.close();
    }
  };
  Stream.prototype.card = function (id, name) {
    if (this.cards[id]) return this.cards[id];
    var li = el("li", "card result-card pending");
    li.id = "card-" + id;
    var head = el("div", "card-head");
    var title = el("strong", "", name || data.test_titles[id] || id);
    var status = el("span", "badge badge-neutral", "waiting");
    head.appendChild(status); head.appendChild(title);
    li.appendChild(head);
    var body = el("div", "card-body");
    var live = el("pre", "live-output"); live.hidden = true;
    li.appendChild(body); li.appendChild(live);
    $("cards").appendChild(li);
    this.cards[id] = { li: li, status: status, body: body, live: live, title: title };
    return this.cards[id];
  };
  Stream.prototype.fill = function (row) {
    var c = this.card(row.id, row.name);
    c.li.className = "card result-card status-" + row.status;
    c.status.className = "badge badge-" + row.status;
    c.status.textContent = { passed: "✓ passed", failed: "✗ failed", error: "⚠ error", skipped: "skipped" }[row.status] || row.status;
    c.title.textContent = row.name + (row.visibility === "hidden" ? " (hidden test)" : "");
    c.body.textContent = "";
    if (row.message) c.body.appendChild(el("p", "message", row.message));
    if (row.expected !== null && row.expected !== undefined) {
      var dl = el("dl", "expected-actual");
      dl.appendChild(el("dt", "", "Expected")); dl.appendChild(el("dd", "", row.expected));
      dl.appendChild(el("dt", "", "Got")); dl.appendChild(el("dd", "", row.actual));
      c.body.appendChild(dl);
    }
    if (row.error && row.error.frames && row.error.frames.length) {
      var tb = el("pre", "traceback");
      tb.textContent = row.error.frames.map(function (f) {
        return f.file + (f.line ? ", line " + f.line : "") + ", in " + f.func + (f.code ? "\n    " + f.code : "");
      }).join("\n") + "\n" + row.error.type + ": " + (row.error.message || "");
      c.body.appendChild(tb);
    }
    if (row.output) {
      var det = el("details", "output");
      det.appendChild(el("summary", "", "Output" + (row.output_truncated ? " (truncated)" : "")));
      det.appendChild(el("pre", "", row.output));
      c.body.appendChild(det);
    }
    c.live.hidden = true;
    if (row.status === "failed" || row.status === "error") {
      var actions = el("div", "card-actions");
      var hints = data.hints[row.id] || [];
      if (hints.length) {
        var shown = 0, hintList = el("ol", "hints");
        var hb = el("button", "btn btn-small", "Show a hint (" + hints.length + ")");
        hb.type = "button";
        hb.addEventListener("click", function () {
          if (shown < hints.length) hintList.appendChild(el("li", "", hints[shown++]));
          hb.textContent = shown < hints.length ? "Another hint (" + (hints.length - shown) + " left)" : "No more hints";
          hb.disabled = shown >= hints.length;
        });
        actions.appendChild(hb);
        c.body.appendChild(hintList);
      }
      var ask = el("button", "btn btn-small", "Ask the tutor about this failure");
      ask.type = "button";
      ask.addEventListener("click", function () {
        document.dispatchEvent(new CustomEvent("tutor:ask", { detail: {
          test: row.id, name: row.name, message: row.message || "", submission: stream ? stream.id : null,
        } }));
      });
      actions.appendChild(ask);
      c.body.appendChild(actions);
    }
  };
  Stream.prototype.finish = function (ev) {
    var self = this;
    if (!this.kind) this.kind = ev.kind;
    (ev.tests || []).forEach(function (row) { self.fill(row); });
    Object.keys(ev.metrics || {}).forEach(function (name) { self.series[name] = []; chartAdd(self.series, name, ev.metrics[name]); });
    Object.keys(ev.histograms || {}).forEach(function (name) {
      self.hists[name] = [];
      (ev.histograms[name] || []).forEach(function (h) { window.FromScratchChart.hist(self.hists, name, h); });
    });
    Object.keys(ev.figures || {}).forEach(function (name) { window.FromScratchFigures.show($("fig-box"), name, ev.figures[name]); });
    progress(1, 1);
    setPhase("done", ev.gradable ? "Finished" : "Not graded");
    var label = ev.gradable ? (this.kind === "run" ? "Run: " : "Score: ") + fmt(ev.score) + " / " + fmt(ev.max_score) + ". " : "";
    verdict(ev.gradable ? ev.status : "error", label + (ev.message || ""));
    if (ev.gradable && this.kind !== "run") updateProgressBadge(ev);
    // Stay connected for the "recorded" event (the progress badge); it closes the socket.
    this.finished_at = Date.now();
    var self2 = this;
    setTimeout(function () { self2.close(); }, 5000);
    busy(false);
    document.body.dispatchEvent(new CustomEvent("fs:history"));
  };

  function fmt(x) { return Math.round(x * 100) / 100; }
  function openStream(id, url, kind) {
    if (stream) stream.close();
    showStatus();
    setPhase("queued", "Sending…");
    stream = new Stream(id, url, kind);
  }
  function showStatus() { $("run-status").hidden = false; }
  function resetResults() {
    $("cards").textContent = "";
    $("verdict").hidden = true;
    $("chart-box").hidden = true;
    window.FromScratchChart.histReset();
    window.FromScratchFigures.reset($("fig-box"));
    progress(0, 1);
  }
  function setPhase(kind, text) {
    var p = $("phase");
    p.className = "phase phase-" + kind;
    p.textContent = text;
  }
  function progress(done, total, label) {
    var pct = total ? Math.round(100 * done / total) : 0;
    var bar = $("run-progress");
    bar.setAttribute("aria-valuenow", String(pct));
    bar.firstElementChild.style.width = pct + "%";
    if (label) bar.title = label;
  }
  function verdict(status, text) {
    var v = $("verdict");
    v.hidden = false;
    v.className = "verdict verdict-" + status;
    v.textContent = text;
  }
  function note(text) { $("cards").appendChild(el("li", "card note small muted", text)); }
  function updateProgressBadge(ev) {
    var b = $("progress-badge");
    if (!b) return;
    if (ev.status === "passed") { b.className = "badge badge-passed"; b.textContent = "✓ passed"; }
    else if (b.textContent.indexOf("passed") === -1) { b.className = "badge badge-attempted"; b.textContent = "attempted"; }
  }

  // The loss chart lives in chart.js.
  var chartAdd = window.FromScratchChart.add;

  // --- start-up -----------------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    // A script element: lesson and tutor HTML can hold no <script>, so content cannot stand in for it.
    data = JSON.parse(document.querySelector('script#exercise-data[type="application/json"]').textContent);
    buildEditors();
    promptTabs();
    $("run-btn").addEventListener("click", function () { start("run"); });
    $("submit-btn").addEventListener("click", function () { start("submit"); });
    $("reset-btn").addEventListener("click", reset);
    document.addEventListener("keydown", function (e) {
      if (e.altKey && (e.key === "]" || e.key === "[")) {
        e.preventDefault();
        show((active + (e.key === "]" ? 1 : order.length - 1)) % order.length, true);
      } else if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && !e.target.closest(".cm-editor")) {
        e.preventDefault();
        start(e.shiftKey ? "submit" : "run");
      }
    });
    window.addEventListener("beforeunload", function () { if (saveTimer) saveNow(); });
    // A submission still grading (or the last result) comes back after a reload.
    if (data.latest) {
      if (data.latest.status === "queued" || data.latest.status === "running") busy(true);
      openStream(data.latest.id, data.latest.ws, null);
    }
    window.FromScratchExercise = {
      files: currentFiles, editors: editors, stream: function () { return stream; },
      // What the chart drew, in data coordinates: per series, its runs of finite [step, value].
      chart: function () {
        var series = stream ? stream.series : {}, out = {};
        Object.keys(series).forEach(function (n) {
          out[n] = window.FromScratchChart.segments(series[n]).map(function (run) { return run.map(function (p) { return [p.step, p.y]; }); });
        });
        return out;
      },
      // What the histograms drew: per name, the steps and counts it holds.
      histograms: function () { return stream ? stream.hists : {}; },
    };
  });
})();
