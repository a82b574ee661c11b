// Course editor: save (Ctrl+S) validates the whole course with the CLI's validator and lists the
// problems of this file by line (errors block publishing, warnings do not); Markdown files get a
// live preview from the server's renderer.
(function () {
  "use strict";
  var data, editor, timer;
  function $(id) { return document.getElementById(id); }
  function csrf() { var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/); return m ? decodeURIComponent(m[1]) : ""; }
  function post(url, body) {
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { j._status = r.status; return j; }); });
  }
  function isError(p) { return (p.severity || "error") === "error"; }
  function label(p) { return isError(p) ? p.message : "warning: " + p.message; }
  function showProblems(problems) {
    var list = $("problems"), mine = problems.filter(function (p) { return p.file === data.path; });
    var others = problems.length - mine.length, errors = problems.filter(isError).length;
    if (editor && editor.setProblems) editor.setProblems(mine);  // markers next to the lines
    list.textContent = "";
    mine.forEach(function (p) {
      var li = document.createElement("li"), a = document.createElement("button");
      a.type = "button"; a.className = "linklike";
      a.textContent = "line " + p.line + ": " + label(p);
      if (!isError(p)) li.className = "warning";
      a.addEventListener("click", function () { editor.gotoLine(p.line); });
      li.appendChild(a); list.appendChild(li);
    });
    if (others) {
      var li = document.createElement("li");
      li.className = "muted";
      li.textContent = others + " problem(s) in other files: " + problems.filter(function (p) { return p.file !== data.path; }).slice(0, 3).map(function (p) { return p.file + ":" + p.line + " " + label(p); }).join("; ");
      list.appendChild(li);
    }
    var warnings = problems.length - errors;
    $("problem-count").textContent = errors ? "(" + errors + " in the course" + (warnings ? ", and " + warnings + " warning(s)" : "") + ")"
      : "(none: ready to publish" + (warnings ? "; " + warnings + " warning(s) worth a look" : "") + ")";
  }
  function preview() {
    if (!/\.md$/.test(data.path)) return;
    post(data.endpoints.preview, { path: data.path, content: editor.getDoc() }).then(function (r) {
      var box = $("preview");
      box.innerHTML = (r.title ? "<h1></h1>" : "") + r.html; // r.html is sanitised by the server (nh3)
      if (r.title) box.querySelector("h1").textContent = r.title;
      if (window.FromScratch) window.FromScratch.init(box);
    });
  }
  function save() {
    $("save-state").textContent = "Saving…";
    return post(data.endpoints.save, { path: data.path, content: editor.getDoc() }).then(function (r) {
      if (r._status !== 200) { $("save-state").textContent = "Not saved: " + (r.error || r._status); return; }
      $("save-state").textContent = "Saved and validated";
      showProblems(r.problems || []);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    // A script element: the preview's HTML can hold no <script>, so it cannot stand in for it.
    data = JSON.parse(document.querySelector('script#author-data[type="application/json"]').textContent);
    if (!data.path) return;
    editor = window.FromScratchEditor.create($("author-editor"), {
      doc: data.content, language: /\.py$/.test(data.path) ? "python" : "none", label: data.path,
      onChange: function () { $("save-state").textContent = "Unsaved"; clearTimeout(timer); timer = setTimeout(preview, 400); },
    });
    showProblems(data.problems);
    preview();
    $("save-btn").addEventListener("click", save);
    document.addEventListener("keydown", function (e) {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); save(); }
    });
    $("delete-btn").addEventListener("click", function () {
      if (!confirm("Delete " + data.path + " from the workspace?")) return;
      post(data.endpoints.save, { path: data.path, delete: true }).then(function () { location.href = "?"; });
    });
    $("new-file").addEventListener("submit", function (e) {
      e.preventDefault();
      var path = $("new-path").value.trim();
      if (!path) return;
      post(data.endpoints.save, { path: path, content: "" }).then(function (r) {
        if (r._status === 200) location.href = "?path=" + encodeURIComponent(path);
        else alert(r.error || "could not create the file");
      });
    });
  });
})();
