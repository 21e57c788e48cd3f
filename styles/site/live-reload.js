/* Live preview (only in pages served by `invoke serve`): ask the server every second which build it is serving;
   reload when a newer one is ready, keeping the reader's place, and show the build's problems when it failed. */
(function () {
  "use strict";
  if (window.location.protocol === "file:") return;
  var STATE = "/__live__/state";
  var KEY = "anthology-live-scroll:" + window.location.pathname;
  var seen = null;

  var saved = window.sessionStorage.getItem(KEY);
  if (saved !== null) {
    window.sessionStorage.removeItem(KEY);
    window.addEventListener("load", function () { window.scrollTo(0, Number(saved)); });
  }

  function showProblems(problems) {
    var box = document.getElementById("live-reload-problems");
    if (!problems) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = document.createElement("div");
      box.id = "live-reload-problems";
      box.className = "live-reload-problems";
      box.setAttribute("role", "alert");
      document.body.appendChild(box);
    }
    box.textContent = "The last build failed; this page is from the build before.\n\n" + problems;
  }

  function poll() {
    fetch(STATE, { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (seen !== null && state.generation !== seen) {
          window.sessionStorage.setItem(KEY, String(window.scrollY));
          window.location.reload();
          return;
        }
        seen = state.generation;
        showProblems(state.problems);
      })
      .catch(function () { /* the server is restarting: try again */ })
      .then(function () { window.setTimeout(poll, 1000); });
  }
  poll();
})();
