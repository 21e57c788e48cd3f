/* The site's small enhancements. Everything works without this script: the contents drawer is a <details>
   element, and a note call is a link to the note at the end of the text, which links back to the call.
   With it, the drawer closes on Escape or a click outside and keeps the focus while open; from 1200 px the
   contents stay open beside the text; a note opens beside its call (on a wide screen) or under it, without
   leaving the page; the reader picks a theme and a text size (remembered); headings and passages get permalinks;
   ← and → turn the page. */
(function () {
  "use strict";

  var WIDE = window.matchMedia("(min-width: 75rem)");
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";

  function visibleFocusables(root) {
    return Array.prototype.filter.call(root.querySelectorAll(FOCUSABLE), function (element) {
      return element.getClientRects().length > 0 && !element.closest("[hidden]");
    });
  }

  function typing() {
    var active = document.activeElement;
    return active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName));
  }

  function isSidebar() { return document.documentElement.classList.contains("has-sidebar"); }

  function setUpDrawer() {
    var drawer = document.querySelector("details.drawer");
    if (!drawer) return;
    var summary = drawer.querySelector("summary");
    document.addEventListener("keydown", function (event) {
      if (!drawer.open || isSidebar()) return;
      if (event.key === "Escape") {
        drawer.open = false;
        summary.focus();
      } else if (event.key === "Tab") { // the open drawer covers the page: the focus stays in it
        var items = visibleFocusables(drawer);
        var first = items[0], last = items[items.length - 1];
        if (!drawer.contains(document.activeElement)) { event.preventDefault(); first.focus(); }
        else if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
        else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
      }
    });
    document.addEventListener("click", function (event) {
      if (drawer.open && !isSidebar() && !drawer.contains(event.target)) drawer.open = false;
    });
  }

  /* From 1200 px the contents are a sidebar: the drawer held open, the page's own sections under its entry. */
  function setUpSidebar() {
    var drawer = document.querySelector("details.drawer");
    if (!drawer) return;
    var sections = document.querySelector("main .page-sections ul");
    var current = drawer.querySelector("nav a[aria-current='page']");
    if (sections && current) {
      var copy = sections.cloneNode(true);
      copy.className = "sidebar-sections";
      current.parentNode.appendChild(copy);
    }
    function apply() {
      document.documentElement.classList.toggle("has-sidebar", WIDE.matches);
      drawer.open = WIDE.matches;
    }
    WIDE.addEventListener("change", apply);
    apply();
  }

  /* Theme (as the system, light or dark) and text size, kept in localStorage for every page; the inline script in
     each page's head applies them before the page is drawn. */
  var SCALES = [0.85, 1, 1.15, 1.3, 1.5];

  function remember(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch (error) { /* storage refused (private mode): the choice holds for this page */ }
  }

  function setUpSettings() {
    var panel = document.querySelector(".reading-settings");
    if (!panel) return;
    var root = document.documentElement;
    function scale() {
      var value = parseFloat(root.style.getPropertyValue("--text-scale"));
      return SCALES.indexOf(value) >= 0 ? value : 1;
    }
    function show() {
      var theme = root.getAttribute("data-theme") || "system";
      panel.querySelectorAll("[data-theme-choice]").forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.getAttribute("data-theme-choice") === theme));
      });
      panel.querySelector("[data-text-size='-1']").disabled = scale() === SCALES[0];
      panel.querySelector("[data-text-size='1']").disabled = scale() === SCALES[SCALES.length - 1];
    }
    panel.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var theme = button.getAttribute("data-theme-choice");
      var step = button.getAttribute("data-text-size");
      if (theme) {
        if (theme === "system") root.removeAttribute("data-theme");
        else root.setAttribute("data-theme", theme);
        remember("anthology-theme", theme === "system" ? null : theme);
      } else if (step !== null) {
        var index = SCALES.indexOf(scale()) + Number(step);
        var next = step === "0" ? 1 : SCALES[Math.max(0, Math.min(SCALES.length - 1, index))];
        root.style.setProperty("--text-scale", String(next));
        remember("anthology-text-scale", next === 1 ? null : String(next));
      }
      show();
    });
    panel.hidden = false;
    show();
  }

  /* A permalink after each heading of the text, and a hidden-until-hovered one after each passage. */
  function setUpPermalinks() {
    document.querySelectorAll("main :is(h2, h3, h4)[id]").forEach(function (heading) {
      var link = document.createElement("a");
      link.className = "permalink";
      link.href = "#" + heading.id;
      link.setAttribute("aria-label", "Link to this section");
      link.textContent = "#";
      heading.appendChild(link);
    });
    document.querySelectorAll("main p > .passage[id]:first-child").forEach(function (passage) {
      var link = document.createElement("a");
      link.className = "permalink";
      link.href = "#" + passage.id;
      link.tabIndex = -1; // the headings' links are in the tab order; a link per paragraph would bury the text's
      link.setAttribute("aria-label", "Link to this paragraph");
      link.textContent = "¶";
      passage.parentNode.appendChild(link);
    });
  }

  /* ← and → go to the previous and next page, unless the reader is typing or a note is open. */
  function setUpPagerKeys() {
    document.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      if (event.ctrlKey || event.metaKey || event.altKey || event.shiftKey || openNote || typing()) return;
      var link = document.querySelector(event.key === "ArrowLeft" ? "link[rel='prev']" : "link[rel='next']");
      if (!link) return;
      event.preventDefault();
      location.href = link.href;
    });
  }

  var openNote = null; // {box: Element, call: Element}

  function closeNote(returnFocus) {
    if (!openNote) return;
    var call = openNote.call;
    openNote.box.remove();
    call.setAttribute("aria-expanded", "false");
    openNote = null;
    if (returnFocus) call.focus();
  }

  /* The note's own content, without its number and back-link, and without ids (they would be duplicated). */
  function noteContent(note) {
    var fragment = document.createDocumentFragment();
    Array.prototype.forEach.call(note.children, function (child) {
      if (child.matches(".footnote-number") || child.querySelector(":scope > .footnote-number:only-child")) return;
      var copy = child.cloneNode(true);
      copy.querySelectorAll(".footnote-back").forEach(function (link) { link.remove(); });
      copy.querySelectorAll("a.citation").forEach(function (citation) { nameTheWork(citation, note); });
      copy.removeAttribute("id");
      copy.querySelectorAll("[id]").forEach(function (element) { element.removeAttribute("id"); });
      fragment.appendChild(copy);
    });
    return fragment;
  }

  /* A citation that reads only "Ibid." (the same work as the note before) is followed, in the pop-up, by the work
     it means: the last earlier citation on the page that links to the same entry and names it. Read out of its
     place, a bare "Ibid." says nothing. */
  function nameTheWork(citation, note) {
    if (!/^\s*ibid\b/i.test(citation.textContent)) return;
    var target = citation.getAttribute("href");
    var named = null;
    Array.prototype.some.call(document.querySelectorAll(".footnotes a.citation"), function (earlier) {
      if (note.contains(earlier) || !(earlier.compareDocumentPosition(note) & Node.DOCUMENT_POSITION_FOLLOWING)) {
        return true; // reached the note itself: stop
      }
      if (earlier.getAttribute("href") === target && !/^\s*ibid\b/i.test(earlier.textContent)) named = earlier;
      return false;
    });
    if (!named) return;
    var work = document.createElement("span");
    work.className = "note-popover-work";
    work.appendChild(document.createTextNode(" [that is, "));
    Array.prototype.forEach.call(named.childNodes, function (child) { work.appendChild(child.cloneNode(true)); });
    work.appendChild(document.createTextNode("]"));
    citation.after(work);
  }

  /* Beside the text when the margin is wide enough, else just under the line of the call. */
  function place(box, call) {
    var column = (call.closest("article") || document.body).getBoundingClientRect();
    var rect = call.getBoundingClientRect();
    var margin = document.documentElement.clientWidth - column.right;
    box.style.top = window.scrollY + (margin >= 280 ? rect.top - 4 : rect.bottom + 6) + "px";
    if (margin >= 280) {
      box.classList.add("note-popover-side");
      box.style.left = window.scrollX + column.right + 24 + "px";
      box.style.width = Math.min(margin - 48, 360) + "px";
    } else {
      var width = Math.min(column.width, 560);
      var left = Math.max(column.left, Math.min(rect.left - 24, column.right - width));
      box.style.left = window.scrollX + left + "px";
      box.style.width = width + "px";
    }
  }

  function showNote(call, note) {
    closeNote(false);
    var number = call.textContent.trim();
    var box = document.createElement("div");
    box.className = "note-popover";
    box.setAttribute("role", "dialog");
    box.id = "note-popover";
    box.setAttribute("aria-label", "Note " + number);
    box.tabIndex = -1;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "note-popover-close";
    close.setAttribute("aria-label", "Close note " + number);
    close.textContent = "×";
    close.addEventListener("click", function () { closeNote(true); });
    var label = document.createElement("p");
    label.className = "note-popover-label";
    label.textContent = "Note " + number;
    box.appendChild(close);
    box.appendChild(label);
    box.appendChild(noteContent(note));
    call.after(box); // next to its call, so that Tab goes from the note on into the text after the call
    place(box, call);
    call.setAttribute("aria-expanded", "true");
    call.setAttribute("aria-controls", "note-popover");
    openNote = { box: box, call: call };
    box.addEventListener("focusout", function (event) {
      var to = event.relatedTarget;
      if (openNote && openNote.box === box && to && !box.contains(to) && to !== call) closeNote(false);
    });
    box.focus({ preventScroll: true });
  }

  function setUpNotes() {
    document.addEventListener("click", function (event) {
      var call = event.target.closest ? event.target.closest("a.footnote-ref") : null;
      if (!call) {
        if (openNote && !openNote.box.contains(event.target)) closeNote(false);
        return;
      }
      var note = document.getElementById(decodeURIComponent(call.hash.slice(1)));
      if (!note || event.ctrlKey || event.metaKey || event.shiftKey) return; // let the link do its work
      event.preventDefault();
      if (openNote && openNote.call === call) closeNote(true);
      else showNote(call, note);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && openNote) closeNote(true);
    });
    window.addEventListener("resize", function () { closeNote(false); });
  }

  /* The page's own contents mark the section being read (aria-current="location"). */
  function setUpSections() {
    var links = Array.prototype.slice.call(document.querySelectorAll(".page-sections a[href^='#'], .sidebar-sections a[href^='#']"));
    var targets = links.map(function (link) { return document.getElementById(decodeURIComponent(link.hash.slice(1))); });
    if (!links.length) return;
    var pending = false;
    function update() {
      pending = false;
      var current = null; // the last section whose heading has passed the top of the window
      targets.forEach(function (target) {
        if (target && target.getBoundingClientRect().top < 140 && (!current || current.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING)) current = target;
      });
      links.forEach(function (link, index) { // the page's sections and, on a wide screen, their copy in the sidebar
        if (current && targets[index] === current) link.setAttribute("aria-current", "location");
        else link.removeAttribute("aria-current");
      });
    }
    window.addEventListener("scroll", function () {
      if (!pending) { pending = true; window.requestAnimationFrame(update); }
    }, { passive: true });
    update();
  }

  /* A long headnote is folded on a phone by the line of script that follows it in the page (so that nothing moves
     once drawn); a link to something inside it opens it again. */
  function unfoldTargetHeadnote() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    var details = target && target.closest(".headnote > details");
    if (details) details.open = true;
  }

  /* "/" puts the cursor in the search box (as on most sites with search), unless the reader is typing. */
  function setUpSearchKey() {
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || typing()) return;
      var box = document.getElementById("search-query") || document.getElementById("site-search-query");
      if (!box) return;
      event.preventDefault();
      box.focus();
      box.select();
    });
  }

  unfoldTargetHeadnote();
  window.addEventListener("hashchange", unfoldTargetHeadnote);
  setUpSidebar();
  setUpDrawer();
  setUpSettings();
  setUpPermalinks();
  setUpNotes();
  setUpSections();
  setUpSearchKey();
  setUpPagerKeys();
})();
