// The tutor panel: opens a conversation over a websocket, streams replies token by token (as
// plain text), swaps in the server's sanitised Markdown+maths render when a reply completes,
// and has a stop button. Also the staff view of a conversation (data-staff). Text from learners,
// models and TAs is only ever inserted with textContent, or as HTML the server sanitised.
(function () {
  "use strict";
  var panel, log, input, socket, conversationId = null, staff = false, streaming = {}, pendingAsk = null, retry = 0;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) { var n = document.createElement(tag); if (cls) n.className = cls; if (text != null) n.textContent = text; return n; }
  function csrf() { var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/); return m ? decodeURIComponent(m[1]) : ""; }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() }, body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; }); });
  }

  function roleLabel(m) {
    if (m.role === "learner") return staff ? "Learner" : "You";
    if (m.role === "ta") return "TA" + (m.author ? " " + m.author : "") + " (a person)";
    if (m.role === "system") return "Notice";
    return "Tutor";
  }

  function render(m) {
    var li = $("tmsg-" + m.id);
    if (!li) {
      li = el("li", "tmsg tmsg-" + m.role);
      li.id = "tmsg-" + m.id;
      li.appendChild(el("div", "tmsg-who small", roleLabel(m)));
      li.appendChild(el("div", "tmsg-body prose"));
      log.appendChild(li);
    }
    var body = li.querySelector(".tmsg-body");
    if (m.html) { body.innerHTML = m.html; if (window.FromScratch) window.FromScratch.init(body); } // sanitised by the server
    if (m.role === "tutor" && m.status !== "streaming" && !staff && !li.querySelector(".tmsg-rate")) addRating(li, m);
    if (m.flags && m.flags.length && staff) li.appendChild(el("div", "small muted", "flags: " + m.flags.join(", ")));
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function addRating(li, m) {
    var box = el("div", "tmsg-rate small");
    [["👍", 1, "Helpful"], ["👎", -1, "Not helpful"]].forEach(function (spec) {
      var b = el("button", "btn btn-small", spec[0]);
      b.type = "button";
      b.setAttribute("aria-label", spec[2]);
      b.setAttribute("aria-pressed", m.rating === spec[1] ? "true" : "false");
      b.addEventListener("click", function () {
        post("/tutor/messages/" + m.id + "/rate/", { rating: spec[1] }).then(function (r) {
          if (r._status === 200) { m.rating = r.rating; box.querySelectorAll("button").forEach(function (x) { x.setAttribute("aria-pressed", "false"); }); b.setAttribute("aria-pressed", "true"); }
        });
      });
      box.appendChild(b);
    });
    li.appendChild(box);
  }

  function notice(text, kind) {
    var li = el("li", "tmsg tmsg-notice " + (kind || ""));
    li.appendChild(el("div", "tmsg-body", text));
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function setQuota(q) {
    if (!q || staff) return;
    var text = q.left + " of " + q.cap + " questions left";
    if (q.left < q.cap && q.next_in) text += " · next in " + Math.floor(q.next_in / 60) + ":" + String(q.next_in % 60).padStart(2, "0");
    $("tutor-quota").textContent = text;
  }

  function setBusy(flag) {
    $("tutor-send").disabled = flag;
    $("tutor-stop").hidden = !flag || staff;
  }

  function onEvent(ev) {
    if (ev.type === "history") {
      log.textContent = "";
      ev.messages.forEach(render);
      setQuota(ev.quota);
      if (!ev.messages.length && !staff) notice("Ask about the lesson, your code or a failing test. The tutor sees this page, your code and your last result.");
      if (pendingAsk) { var p = pendingAsk; pendingAsk = null; send(p); }
    } else if (ev.type === "message") {
      render(ev.message);
    } else if (ev.type === "tutor.start") {
      var li = render({ id: ev.message_id, role: "tutor", html: "", status: "streaming" });
      li.classList.add("streaming");
      streaming[ev.message_id] = li.querySelector(".tmsg-body");
      streaming[ev.message_id].textContent = "";
      setBusy(true);
    } else if (ev.type === "tutor.token") {
      var body = streaming[ev.message_id];
      if (body) { body.textContent += ev.text; log.scrollTop = log.scrollHeight; }
    } else if (ev.type === "tutor.checking") {
      var b2 = streaming[ev.message_id];
      if (b2) b2.appendChild(el("span", "small muted checking", " … checking the rest of the reply"));
    } else if (ev.type === "tutor.done") {
      var done = $("tmsg-" + ev.message_id);
      if (done) done.classList.remove("streaming");
      delete streaming[ev.message_id];
      render({ id: ev.message_id, role: "tutor", html: ev.html, status: ev.status, flags: ev.flags, rating: 0 });
      setBusy(false);
    } else if (ev.type === "quota") {
      setQuota(ev.quota);
    } else if (ev.type === "error") {
      notice(ev.error, "error");
      if (ev.quota) setQuota(ev.quota);
      setBusy(false);
    }
  }

  function connect(url) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + url);
    socket.onopen = function () { retry = 0; };
    socket.onmessage = function (m) { try { onEvent(JSON.parse(m.data)); } catch (e) { /* ignore malformed frames */ } };
    socket.onclose = function (e) {
      if (e.code === 4401 || e.code === 4403) { notice("You are signed out; reload the page.", "error"); return; }
      setTimeout(function () { connect(url); }, Math.min(10000, 500 * Math.pow(2, retry++)));
    };
  }

  function ensureConversation() {
    if (conversationId) return Promise.resolve();
    return post(panel.dataset.startUrl, { kind: panel.dataset.kind, slug: panel.dataset.slug }).then(function (r) {
      if (r._status !== 200) { notice(r.error || "The tutor could not start.", "error"); throw new Error("start"); }
      conversationId = r.id;
      setQuota(r.quota);
      connect(r.ws);
    });
  }

  function open(prefill) {
    panel.hidden = false;
    document.body.classList.add("tutor-open");
    ensureConversation().then(function () {
      if (prefill) { input.value = prefill; }
      input.focus();
    }, function () {});
  }

  function send(payload) {
    if (!socket || socket.readyState !== 1) { pendingAsk = payload; return; }
    socket.send(JSON.stringify(payload));
  }

  function submit(e) {
    if (e) e.preventDefault();
    var text = input.value.trim();
    if (!text) { notice("Type a question first.", "error"); return; }
    var payload;
    if (staff) payload = { type: "ta_message", text: text };
    else {
      payload = { type: "ask", text: text, test: panel.dataset.focusTest || "" };
      if (window.FromScratchExercise) payload.code = window.FromScratchExercise.files();
    }
    send(payload);
    input.value = "";
    panel.dataset.focusTest = "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    panel = $("tutor-panel");
    if (!panel) return;
    log = $("tutor-log");
    input = $("tutor-input");
    staff = panel.dataset.staff === "1";
    $("tutor-form").addEventListener("submit", submit);
    input.addEventListener("keydown", function (e) { if ((e.ctrlKey || e.metaKey) && e.key === "Enter") submit(e); });
    $("tutor-stop").addEventListener("click", function () { send({ type: "stop" }); });
    if (staff) { connect("/ws/tutor/" + panel.dataset.conversation + "/"); return; }
    document.querySelectorAll("[data-tutor-open]").forEach(function (b) { b.addEventListener("click", function () { open(); }); });
    var close = panel.querySelector("[data-tutor-close]");
    if (close) close.addEventListener("click", function () { panel.hidden = true; document.body.classList.remove("tutor-open"); });
    var human = panel.querySelector("[data-tutor-human]");
    if (human) human.addEventListener("click", function () {
      ensureConversation().then(function () {
        post("/tutor/conversations/" + conversationId + "/human/", {}).then(function (r) {
          if (r._status === 200) notice("A TA has been asked to join this conversation. They will answer here.");
          else notice(r.error || "Could not reach a TA.", "error");
        });
      });
    });
    document.addEventListener("keydown", function (e) {
      if (e.altKey && (e.key === "t" || e.key === "T")) { e.preventDefault(); open(); }
      if (e.key === "Escape" && !panel.hidden && panel.contains(document.activeElement)) { panel.hidden = true; document.body.classList.remove("tutor-open"); }
    });
    document.addEventListener("tutor:ask", function (e) {
      var d = e.detail || {};
      panel.dataset.focusTest = d.test || "";
      var ctx = $("tutor-context");
      ctx.hidden = false;
      ctx.textContent = "About the failing test “" + (d.name || d.test) + "”";
      open("My test “" + (d.name || d.test) + "” fails: " + (d.message || "").split("\n")[0] + "\nWhat am I missing?");
    });
  });
})();
