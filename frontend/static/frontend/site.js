// Site-wide behaviour: theme toggle, copy buttons on code blocks, KaTeX typesetting.
(function () {
  "use strict";

  function setTheme(theme) {
    document.documentElement.setAttribute("data-theme", theme);
    try { localStorage.setItem("theme", theme); } catch (e) { /* private mode */ }
    document.querySelectorAll("[data-theme-toggle]").forEach(function (btn) {
      btn.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
      btn.textContent = theme === "dark" ? "☀ Light" : "☾ Dark";
    });
  }

  function initThemeToggle(root) {
    root.querySelectorAll("[data-theme-toggle]").forEach(function (btn) {
      if (btn.dataset.bound) return;
      btn.dataset.bound = "1";
      btn.addEventListener("click", function () {
        var current = document.documentElement.getAttribute("data-theme");
        setTheme(current === "dark" ? "light" : "dark");
      });
    });
    setTheme(document.documentElement.getAttribute("data-theme") || "light");
  }

  function initCopyButtons(root) {
    root.querySelectorAll(".codeblock").forEach(function (block) {
      if (block.querySelector(".copy-btn")) return;
      var btn = document.createElement("button");
      btn.type = "button";
      btn.className = "copy-btn";
      btn.textContent = "Copy";
      btn.setAttribute("aria-label", "Copy code to clipboard");
      btn.addEventListener("click", function () {
        var code = block.querySelector("pre").innerText;
        navigator.clipboard.writeText(code).then(function () {
          btn.textContent = "Copied";
          setTimeout(function () { btn.textContent = "Copy"; }, 1500);
        }, function () { btn.textContent = "Copy failed"; });
      });
      block.appendChild(btn);
    });
  }

  // Markdown rendering leaves TeX in .math.inline / .math.block; KaTeX turns it into markup.
  function typeset(root) {
    if (!window.katex) return;
    root.querySelectorAll(".math.inline, .math.block").forEach(function (el) {
      if (el.dataset.typeset) return;
      var tex = el.textContent;
      try {
        window.katex.render(tex, el, { displayMode: el.classList.contains("block"), throwOnError: false, trust: false });
        el.dataset.typeset = "1";
      } catch (e) { /* leave the TeX source visible */ }
    });
  }

  // Ids in lesson and tutor HTML are prefixed "user-content-" (courses/rendering.py) so content
  // cannot name the page's own elements; links and citations keep "#anchor", as on GitHub. Land
  // "#anchor" on "user-content-anchor" unless the page itself has an element of that id.
  var PREFIX = "user-content-";
  function contentTarget(hash) {
    var id;
    try { id = decodeURIComponent((hash || "").slice(1)); } catch (e) { return null; }
    if (!id || document.getElementById(id)) return null;
    return document.getElementById(PREFIX + id);
  }
  function landOnHash() {
    var target = contentTarget(location.hash);
    if (target) target.scrollIntoView();
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest('a[href^="#"]');
    if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    var target = contentTarget(a.getAttribute("href"));
    if (!target) return;
    e.preventDefault();
    history.pushState(null, "", a.getAttribute("href"));
    target.scrollIntoView();
  });
  window.addEventListener("hashchange", landOnHash);

  function init(root) {
    initThemeToggle(root);
    initCopyButtons(root);
    typeset(root);
  }

  window.FromScratch = window.FromScratch || {};
  window.FromScratch.typeset = typeset;
  window.FromScratch.init = init;
  window.FromScratch.landOnHash = landOnHash;
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    landOnHash(); // after typesetting, which changes the layout above the target
  });
  document.addEventListener("htmx:load", function (e) { init(e.target); });
})();
