/* Offline search of the whole book. The index (assets/search-index.js, written at build time) sets
   window.anthologySearchIndex = {texts: [[label, href], …], passages: [[text, id, section, words], …]}.
   It is a script, not JSON, so that it loads from file:// too. A passage matches when it contains every word of
   the query (ignoring case, accents and the form of quotation marks); results are listed in reading order,
   grouped by text, each naming its section and linking to the passage. */
(function () {
  "use strict";

  var MAX_RESULTS = 300;
  var SNIPPET = 220; // characters of context shown around the first match

  /* Same length as the input, so positions found in the folded text are positions in the original. */
  function fold(text) {
    var out = "";
    for (var i = 0; i < text.length; i++) {
      var c = text[i];
      if (c === "’" || c === "‘") c = "'";
      else if (c === "“" || c === "”") c = '"';
      else c = (c.normalize("NFD")[0] || c).toLowerCase()[0] || c;
      out += c;
    }
    return out;
  }

  function terms(query) {
    return fold(query).split(/\s+/).filter(function (term) { return term.length > 0; });
  }

  function prepare(data) {
    return data.passages.map(function (row) {
      return { text: row[0], id: row[1], section: row[2], words: row[3], folded: fold(row[3]) };
    });
  }

  function find(passages, query) {
    var wanted = terms(query);
    if (!wanted.length) return [];
    return passages.filter(function (passage) {
      return wanted.every(function (term) { return passage.folded.indexOf(term) !== -1; });
    });
  }

  /* Text around the first match, cut at word boundaries, with every occurrence of a term marked. */
  function snippet(passage, wanted) {
    var first = Math.min.apply(null, wanted.map(function (term) {
      var at = passage.folded.indexOf(term);
      return at === -1 ? Infinity : at;
    }));
    var start = Math.max(0, first - SNIPPET / 2);
    var end = Math.min(passage.words.length, start + SNIPPET);
    if (start > 0) start = passage.words.indexOf(" ", start) + 1 || start;
    if (end < passage.words.length) end = passage.words.lastIndexOf(" ", end) > start ? passage.words.lastIndexOf(" ", end) : end;
    var text = passage.words.slice(start, end);
    var folded = passage.folded.slice(start, end);
    var element = document.createElement("span");
    element.className = "result-snippet";
    if (start > 0) element.appendChild(document.createTextNode("… "));
    var position = 0;
    while (position < text.length) {
      var next = -1, length = 0;
      wanted.forEach(function (term) {
        var at = folded.indexOf(term, position);
        if (at !== -1 && (next === -1 || at < next)) { next = at; length = term.length; }
      });
      if (next === -1) { element.appendChild(document.createTextNode(text.slice(position))); break; }
      element.appendChild(document.createTextNode(text.slice(position, next)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(next, next + length);
      element.appendChild(mark);
      position = next + length;
    }
    if (end < passage.words.length) element.appendChild(document.createTextNode(" …"));
    return element;
  }

  function element(name, className, text) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function render(data, found, query, results, status) {
    results.textContent = "";
    var wanted = terms(query);
    if (!wanted.length) { status.textContent = ""; return; }
    var texts = {};
    found.forEach(function (passage) { texts[passage.text] = true; });
    var textCount = Object.keys(texts).length;
    status.textContent = found.length
      ? found.length + (found.length === 1 ? " passage" : " passages") + " in " + textCount +
        (textCount === 1 ? " text" : " texts") + " contain “" + query.trim() + "”" +
        (found.length > MAX_RESULTS ? "; the first " + MAX_RESULTS + " are listed." : ".")
      : "No passage contains “" + query.trim() + "”.";
    var list = null, current = -1;
    found.slice(0, MAX_RESULTS).forEach(function (passage) {
      var text = data.texts[passage.text];
      if (passage.text !== current) {
        current = passage.text;
        var group = element("section", "result-group");
        group.appendChild(element("h2", "result-text", text[0]));
        list = element("ol", "result-list");
        group.appendChild(list);
        results.appendChild(group);
      }
      var link = element("a", "result-link");
      link.href = text[1] + "#" + passage.id;
      link.appendChild(element("span", "result-section", passage.section || "Opening"));
      link.appendChild(document.createTextNode(" "));
      link.appendChild(snippet(passage, wanted));
      var item = element("li", "result");
      item.appendChild(link);
      list.appendChild(item);
    });
  }

  function start() {
    var data = window.anthologySearchIndex;
    var input = document.getElementById("search-query");
    var results = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    if (!input || !results || !status) return;
    if (!data) { status.textContent = "The search index could not be loaded."; return; }
    var passages = prepare(data);
    var timer = null;

    function run(query, remember) {
      render(data, find(passages, query), query, results, status);
      if (remember && window.history && window.history.replaceState) {
        var url = new URL(window.location.href);
        if (query.trim()) url.searchParams.set("q", query.trim()); else url.searchParams.delete("q");
        try { window.history.replaceState(null, "", url.toString()); } catch (error) { /* file:// in some browsers */ }
      }
    }

    input.closest("form").addEventListener("submit", function (event) {
      event.preventDefault();
      run(input.value, true);
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { run(input.value, true); }, 200);
    });
    var query = new URLSearchParams(window.location.search).get("q") || "";
    input.value = query;
    if (query) run(query, false);
    document.documentElement.classList.add("search-ready");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
