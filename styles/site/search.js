/* Offline search of the whole book with MiniSearch (assets/minisearch.js, MIT). The documents (assets/search-index.js,
   written at build time) set window.anthologySearchIndex = {texts: [[label, href], …], passages: [[text, id, section,
   words], …]}; they are a script, not JSON, so that they load from file:// too, and MiniSearch indexes them when the
   search page opens (README: why the documents, not a serialised index).

   What a query finds: whole words, and the last word also as the start of a longer one (as the reader types);
   case, accents and English endings do not matter (a Porter stemmer: "revolutions" finds "revolution"); a name
   misspelt by a letter or two still finds it ("Trotski", "kronshtadt"); words in "double quotes" must stand together
   in that order. Every word must be in the passage (or its section's heading). Results are ranked by BM25, matches in
   a section heading or the text's title counting more, and listed a page at a time. */
(function () {
  "use strict";

  var PAGE = 50; // results shown at a time
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

  /* The Porter stemmer (M. F. Porter, 1980), as in its reference implementation: a word's forms share one stem
     ("country", "countries": "countri"; "Leninism": "lenin"). tests/site/stemmer.js runs it on Porter's examples. */
  var step2 = { ational: "ate", tional: "tion", enci: "ence", anci: "ance", izer: "ize", bli: "ble", alli: "al",
    entli: "ent", eli: "e", ousli: "ous", ization: "ize", ation: "ate", ator: "ate", alism: "al", iveness: "ive",
    fulness: "ful", ousness: "ous", aliti: "al", iviti: "ive", biliti: "ble", logi: "log" };
  var step3 = { icate: "ic", ative: "", alize: "al", iciti: "ic", ical: "ic", ful: "", ness: "" };
  var c = "[^aeiou]", v = "[aeiouy]", C = c + "[^aeiouy]*", V = v + "[aeiou]*";
  var mGreater0 = new RegExp("^(" + C + ")?" + V + C);
  var mEquals1 = new RegExp("^(" + C + ")?" + V + C + "(" + V + ")?$");
  var mGreater1 = new RegExp("^(" + C + ")?" + V + C + V + C);
  var hasVowel = new RegExp("^(" + C + ")?" + v);
  var cvc = new RegExp("^" + C + v + "[^aeiouwxy]$");

  function stem(word) {
    // Words of three letters or fewer are left whole: Porter would make "one" "on" and "used" "us".
    if (word.length < 4 || !/^[a-z]+$/.test(word)) return word;
    var w = word, match, base;
    var initialY = w[0] === "y";
    if (initialY) w = "Y" + w.slice(1);
    if ((match = /^(.+?)(ss|i)es$/.exec(w))) w = match[1] + match[2];
    else if ((match = /^(.+?)([^s])s$/.exec(w))) w = match[1] + match[2];
    if ((match = /^(.+?)eed$/.exec(w))) {
      if (mGreater0.test(match[1])) w = w.slice(0, -1);
    } else if ((match = /^(.+?)(ed|ing)$/.exec(w)) && hasVowel.test(match[1])) {
      w = match[1];
      if (/(at|bl|iz)$/.test(w)) w += "e";
      else if (/([^aeiouylsz])\1$/.test(w)) w = w.slice(0, -1);
      else if (cvc.test(w)) w += "e";
    }
    if ((match = /^(.+?)y$/.exec(w)) && hasVowel.test(match[1])) w = match[1] + "i";
    match = /^(.+?)(ational|tional|enci|anci|izer|bli|alli|entli|eli|ousli|ization|ation|ator|alism|iveness|fulness|ousness|aliti|iviti|biliti|logi)$/.exec(w);
    if (match && mGreater0.test(match[1])) w = match[1] + step2[match[2]];
    match = /^(.+?)(icate|ative|alize|iciti|ical|ful|ness)$/.exec(w);
    if (match && mGreater0.test(match[1])) w = match[1] + step3[match[2]];
    if ((match = /^(.+?)(al|ance|ence|er|ic|able|ible|ant|ement|ment|ent|ou|ism|ate|iti|ous|ive|ize)$/.exec(w))) {
      if (mGreater1.test(match[1])) w = match[1];
    } else if ((match = /^(.+?)(s|t)(ion)$/.exec(w))) {
      base = match[1] + match[2];
      if (mGreater1.test(base)) w = base;
    }
    if ((match = /^(.+?)e$/.exec(w))) {
      base = match[1];
      if (mGreater1.test(base) || (mEquals1.test(base) && !cvc.test(base))) w = base;
    }
    if (/ll$/.test(w) && mGreater1.test(w)) w = w.slice(0, -1);
    if (initialY) w = "y" + w.slice(1);
    return w;
  }

  /* One word as the index keeps it: folded, without apostrophes' tails ("Trotsky's"), stemmed. */
  function processTerm(term) {
    var folded = fold(term).replace(/'s?$/, "").replace(/^['"]+|['"]+$/g, "");
    return folded ? stem(folded) : null;
  }

  var WORD = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;

  function words(text) {
    return text.match(WORD) || [];
  }

  /* A query: its free words, and its "quoted phrases" (each a list of words). */
  function parse(query) {
    var phrases = [];
    var rest = query.replace(/["“”]([^"“”]+)["“”]?/g, function (_whole, phrase) {
      var inside = words(phrase);
      if (inside.length) phrases.push(inside);
      return " ";
    });
    return { free: words(rest), phrases: phrases };
  }

  /* Folded words joined by single spaces: a phrase is in a passage when its spaced form is in the passage's. */
  function spaced(list) {
    return " " + list.map(function (word) { return fold(word); }).join(" ") + " ";
  }

  function buildIndex(data) {
    var documents = data.passages.map(function (row, id) {
      return { id: id, text: row[0], passage: row[1], section: row[2], words: row[3] };
    });
    var titleTerms = data.texts.map(function (text) {
      var set = {};
      words(text[0]).forEach(function (word) { var term = processTerm(word); if (term) set[term] = true; });
      return set;
    });
    var index = new window.MiniSearch({
      fields: ["words", "section"],
      storeFields: [],
      processTerm: processTerm,
      searchOptions: {
        combineWith: "AND",
        boost: { section: 1.5 },
        // The last word may be the start of a longer one (the reader is still typing); words of six letters and
        // more may be one letter off (two from ten letters): names are misspelt, short words would find others.
        prefix: function (term, i, terms) { return i === terms.length - 1 && term.length >= 3; },
        fuzzy: function (term) { return term.length >= 6 ? 0.2 : false; },
        weights: { prefix: 0.25, fuzzy: 0.35 },
        boostDocument: function (id, term) { return term && titleTerms[documents[id].text][term] ? 1.5 : 1; },
      },
    });
    index.addAll(documents);
    return { index: index, documents: documents };
  }

  function find(search, query) {
    var parsed = parse(query);
    var all = parsed.free.concat.apply(parsed.free, parsed.phrases);
    if (!all.length) return { results: [], parsed: parsed };
    var exact = { prefix: false, fuzzy: false };
    var queries = parsed.free.length ? [{ queries: [parsed.free.join(" ")], combineWith: "AND" }] : [];
    parsed.phrases.forEach(function (phrase) { queries.push({ queries: [phrase.join(" ")], combineWith: "AND", prefix: false, fuzzy: false }); });
    var results = search.index.search({ queries: queries, combineWith: "AND" }, parsed.phrases.length && !parsed.free.length ? exact : {});
    if (parsed.free.length) {
      // The words as typed (not only another form of them: "Lenin", not "Leninism") rank higher, and side by
      // side, in the query's order, higher still.
      var together = spaced(parsed.free);
      var asTyped = parsed.free.map(function (word) { return spaced([word]); });
      results.forEach(function (result) {
        var document_ = search.documents[result.id];
        var text = spaced(words(document_.words + " " + document_.section));
        if (asTyped.every(function (word) { return text.indexOf(word) !== -1; })) result.score *= 1.5;
        if (parsed.free.length > 1 && text.indexOf(together) !== -1) result.score *= 3;
      });
      results.sort(function (a, b) { return b.score - a.score; });
    }
    if (parsed.phrases.length) {
      var wanted = parsed.phrases.map(spaced);
      results = results.filter(function (result) {
        var text = spaced(words(search.documents[result.id].words));
        return wanted.every(function (phrase) { return text.indexOf(phrase) !== -1; });
      });
    }
    return { results: results, parsed: parsed };
  }

  /* Where to mark a passage's text: every word whose index term matched, or every occurrence of a phrase. */
  function marks(text, result, parsed) {
    var found = [];
    var matched = {};
    result.terms.forEach(function (term) { matched[term] = true; });
    var folded = fold(text);
    var match;
    WORD.lastIndex = 0;
    while ((match = WORD.exec(text))) {
      if (parsed.free.length && matched[processTerm(match[0])]) {
        found.push([match.index, match.index + match[0].length]);
      }
    }
    parsed.phrases.forEach(function (phrase) {
      var pattern = new RegExp("(?<![\\p{L}\\p{N}])" + phrase.map(function (word) {
        return fold(word).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      }).join("[^\\p{L}\\p{N}]+") + "(?![\\p{L}\\p{N}])", "gu");
      while ((match = pattern.exec(folded))) found.push([match.index, match.index + match[0].length]);
    });
    found.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var merged = [];
    found.forEach(function (span) {
      var last = merged[merged.length - 1];
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push(span.slice());
    });
    return merged;
  }

  /* Text around the first match, cut at word boundaries, with every match marked. */
  function snippet(text, spans, whole) {
    var first = spans.length ? spans[0][0] : 0;
    var start = Math.max(0, first - SNIPPET / 2);
    var end = Math.min(text.length, start + SNIPPET);
    if (start > 0) start = text.indexOf(" ", start) + 1 || start;
    if (start > first) start = first;
    if (end < text.length) end = text.lastIndexOf(" ", end) > start ? text.lastIndexOf(" ", end) : end;
    if (whole) { start = 0; end = text.length; }
    var node = element("span", whole ? "" : "result-snippet");
    if (start > 0) node.appendChild(document.createTextNode("… "));
    var position = start;
    spans.forEach(function (span) {
      if (span[1] <= position || span[0] >= end) return;
      node.appendChild(document.createTextNode(text.slice(position, Math.max(position, span[0]))));
      node.appendChild(element("mark", "", text.slice(Math.max(position, span[0]), Math.min(end, span[1]))));
      position = Math.min(end, span[1]);
    });
    node.appendChild(document.createTextNode(text.slice(position, end)));
    if (end < text.length) node.appendChild(document.createTextNode(" …"));
    return node;
  }

  function element(name, className, text) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many);
  }

  function status(results, documents, query) {
    var shown = query.trim();
    var quoted = /^["“]/.test(shown) ? shown.replace(/["“]([^"“”]*)["”]?/g, "“$1”") : "“" + shown + "”";
    if (!results.length) return "No passage contains " + quoted + ".";
    var texts = {};
    results.forEach(function (result) { texts[documents[result.id].text] = true; });
    return plural(results.length, "passage", "passages") + " in " + plural(Object.keys(texts).length, "text", "texts") +
      (results.length === 1 ? " contains " : " contain ") + quoted + ", the best first.";
  }

  function resultItem(data, document_, result, parsed) {
    var text = data.texts[document_.text];
    var link = element("a", "result-link");
    link.href = text[1] + "#" + document_.passage;
    link.appendChild(element("span", "result-text-label", text[0]));
    var section = element("span", "result-section");
    section.appendChild(snippet(document_.section || "Opening", marks(document_.section, result, parsed), true));
    link.appendChild(section);
    link.appendChild(document.createTextNode(" "));
    link.appendChild(snippet(document_.words, marks(document_.words, result, parsed)));
    var item = element("li", "result");
    item.appendChild(link);
    return item;
  }

  function render(data, search, query, results, statusLine) {
    results.textContent = "";
    var found = find(search, query);
    if (!query.trim() || !(found.parsed.free.length + found.parsed.phrases.length)) { statusLine.textContent = ""; return; }
    statusLine.textContent = status(found.results, search.documents, query);
    var list = element("ol", "result-list");
    results.appendChild(list);
    var shown = 0;
    var more = element("button", "search-more");
    more.type = "button";

    function showMore() {
      var first = shown;
      found.results.slice(shown, shown + PAGE).forEach(function (result) {
        list.appendChild(resultItem(data, search.documents[result.id], result, found.parsed));
      });
      shown = Math.min(found.results.length, shown + PAGE);
      var left = found.results.length - shown;
      if (left > 0) {
        more.textContent = "Show " + plural(Math.min(PAGE, left), "more result", "more results") + " (" + left + " not shown)";
        if (!more.parentNode) results.appendChild(more);
      } else if (more.parentNode) {
        more.remove();
      }
      if (first > 0) list.children[first].querySelector("a").focus();
    }

    more.addEventListener("click", showMore);
    showMore();
  }

  function start() {
    var data = window.anthologySearchIndex;
    var input = document.getElementById("search-query");
    var results = document.getElementById("search-results");
    var statusLine = document.getElementById("search-status");
    if (!input || !results || !statusLine) return;
    if (!data || !window.MiniSearch) { statusLine.textContent = "The search index could not be loaded."; return; }
    performance.mark("search-index-start");
    var search = buildIndex(data);
    performance.measure("search-index", "search-index-start"); // README: what indexing on load costs
    var timer = null;

    function run(query, remember) {
      render(data, search, query, results, statusLine);
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

  window.anthologyStem = stem; // for tests/site/stemmer.js
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
