/* Folded solutions: the "Show all solutions" toggle of each exercise page, and a
   link to an anchor inside a fold opens the fold (on load, on hashchange, on click). */
(function () {
  "use strict";

  function solutions() {
    return Array.prototype.slice.call(document.querySelectorAll("article details.solution"));
  }

  function syncToggle() {
    var button = document.querySelector("article .solutions-toggle");
    if (!button) return;
    var folds = solutions();
    var allOpen = folds.length > 0 && folds.every(function (d) { return d.open; });
    button.setAttribute("aria-pressed", allOpen ? "true" : "false");
  }

  /* The button is in the page's HTML (hooks/solutions.py puts it under the title of each
     exercise page with solution folds); this makes it work. */
  function wireToggle() {
    var button = document.querySelector("article .solutions-toggle");
    if (!button || button.hasAttribute("data-wired")) return;
    button.setAttribute("data-wired", "");
    button.addEventListener("click", function () {
      var show = button.getAttribute("aria-pressed") !== "true";
      solutions().forEach(function (d) { d.open = show; });
      syncToggle();
    });
  }

  /* Open every closed <details> around the element the hash names, then scroll to it. */
  function reveal(hash) {
    if (!hash || hash.length < 2) return;
    var id;
    try { id = decodeURIComponent(hash.slice(1)); } catch (error) { return; }
    var target = document.getElementById(id);
    if (!target || !target.closest("details:not([open])")) return;
    for (var d = target.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;
    }
    target.scrollIntoView();
    syncToggle();
  }

  function init() {
    wireToggle();
    syncToggle();
    reveal(window.location.hash);
  }

  window.addEventListener("hashchange", function () { reveal(window.location.hash); });
  // A click on a link to the current hash fires no hashchange: open the fold anyway.
  document.addEventListener("click", function (event) {
    var link = event.target instanceof Element ? event.target.closest("a[href*='#']") : null;
    if (!link || link.pathname !== window.location.pathname) return;
    if (link.hash === window.location.hash) reveal(link.hash);
  });
  // <details> toggled by hand: keep the button's state true to what is open.
  document.addEventListener("toggle", syncToggle, true);

  if (typeof window.document$ !== "undefined" && window.document$.subscribe) {
    window.document$.subscribe(init); // Material: on every page, instant navigation too
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }

  window.exerciseFolds = { reveal: reveal }; // for the tests
})();
