/* The site's small enhancements. Everything works without this script: the contents drawer is a <details>
   element, and a note call is a link to the note at the end of the text, which links back to the call.
   With it, the drawer closes on Escape or a click outside, and a note opens beside its call (on a wide screen)
   or under it, without leaving the page. */
(function () {
  "use strict";

  function setUpDrawer() {
    var drawer = document.querySelector("details.drawer");
    if (!drawer) return;
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && drawer.open) {
        drawer.open = false;
        drawer.querySelector("summary").focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (drawer.open && !drawer.contains(event.target)) drawer.open = false;
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
      copy.removeAttribute("id");
      copy.querySelectorAll("[id]").forEach(function (element) { element.removeAttribute("id"); });
      fragment.appendChild(copy);
    });
    return fragment;
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
    var box = document.createElement("aside");
    box.className = "note-popover";
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
    document.body.appendChild(box);
    place(box, call);
    call.setAttribute("aria-expanded", "true");
    call.setAttribute("aria-controls", "note-popover");
    openNote = { box: box, call: call };
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
    var links = Array.prototype.slice.call(document.querySelectorAll(".page-sections a[href^='#']"));
    var targets = links.map(function (link) { return document.getElementById(decodeURIComponent(link.hash.slice(1))); });
    if (!links.length) return;
    var pending = false;
    function update() {
      pending = false;
      var current = -1;
      targets.forEach(function (target, index) {
        if (target && target.getBoundingClientRect().top < 140) current = index;
      });
      links.forEach(function (link, index) {
        if (index === current) link.setAttribute("aria-current", "location");
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
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      var active = document.activeElement;
      if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) return;
      var box = document.getElementById("search-query") || document.getElementById("site-search-query");
      if (!box) return;
      event.preventDefault();
      box.focus();
      box.select();
    });
  }

  unfoldTargetHeadnote();
  window.addEventListener("hashchange", unfoldTargetHeadnote);
  setUpDrawer();
  setUpNotes();
  setUpSections();
  setUpSearchKey();
})();
