// Usage: node axe.js URL...  Runs axe-core on each page and prints {url: {violations, errors}} as JSON.
// A URL ending in "!note" is checked with its first note opened in place (the pop-over of assets/site.js).
"use strict";
const path = require("path");
const { withBrowser, output } = require("./chromium");

const AXE = require.resolve("axe-core/axe.min.js");

async function check(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const openNote = url.endsWith("!note");
  await page.goto(openNote ? url.slice(0, -5) : url, { waitUntil: "load" });
  await page.waitForTimeout(300); // scripts that fill the page (search results) run after load
  if (openNote) {
    await page.click("a.footnote-ref");
    await page.waitForSelector(".note-popover");
  }
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () =>
    window.axe.run(document, { resultTypes: ["violations"] })
  );
  await page.close();
  return {
    errors,
    violations: result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    })),
  };
}

withBrowser(async (context) => {
  const results = {};
  for (const url of process.argv.slice(2)) results[url] = await check(context, url);
  output(results);
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
