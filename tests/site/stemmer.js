// Usage: node stemmer.js WORD...  The site search's stemmer (assets/search.js, run here without a browser) on each
// WORD; prints {word: stem}.
"use strict";
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const script = fs.readFileSync(path.join(__dirname, "..", "..", "styles", "site", "search.js"), "utf8");
const window = {};
const document = { readyState: "complete", getElementById: () => null };
vm.runInNewContext(script, { window, document, URL, URLSearchParams, performance: { mark() {}, measure() {} } });
const stems = {};
for (const word of process.argv.slice(2)) stems[word] = window.anthologyStem(word);
process.stdout.write(JSON.stringify(stems) + "\n");
