// Highlights the table-of-contents entry of the section being read.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-toc-link]"));
    if (!links.length || !("IntersectionObserver" in window)) return;
    var byId = {};
    links.forEach(function (a) { byId[decodeURIComponent(a.getAttribute("href").slice(1))] = a; });
    var visible = {};
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { visible[e.target.id] = e.isIntersecting ? e.boundingClientRect.top : undefined; });
      var current = null;
      links.forEach(function (a) {
        var id = "user-content-" + decodeURIComponent(a.getAttribute("href").slice(1));
        if (visible[id] !== undefined && current === null) current = id;
      });
      if (current) {
        links.forEach(function (a) { a.classList.remove("active"); a.removeAttribute("aria-current"); });
        byId[current].classList.add("active");
        byId[current].setAttribute("aria-current", "true");
      }
    }, { rootMargin: "-60px 0px -60% 0px" });
    // Content ids carry the "user-content-" prefix (courses/rendering.py); links keep the anchor.
    Object.keys(byId).forEach(function (id) {
      var el = document.getElementById("user-content-" + id);
      if (el) { byId[el.id] = byId[id]; observer.observe(el); }
    });
  });
})();
