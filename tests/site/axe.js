// Usage: node axe.js URL...  Runs axe-core (WCAG 2.2 A/AA and best practices) on each page and prints
// {url: {violations, errors}} as JSON.
// Flags after the URL, each after a "!": "note" opens the page's first note in place (the pop-over of
// assets/site.js), "dark" asks for the system's dark theme, "phone" is a 390 px wide screen (else 1280 px).
"use strict";
const path = require("path");
const { withBrowser, output } = require("./chromium");

const AXE = require.resolve("axe-core/axe.min.js");
// Every rule of WCAG 2.0, 2.1 and 2.2 at levels A and AA (2.2 adds target size), and axe's best practices.
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"];

async function check(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const [address, ...flags] = url.split("!");
  const openNote = flags.includes("note");
  if (flags.includes("dark")) await page.emulateMedia({ colorScheme: "dark" });
  if (flags.includes("phone")) await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(address, { waitUntil: "load" });
  await page.waitForTimeout(300); // scripts that fill the page (search results) run after load
  if (openNote) {
    await page.click("a.footnote-ref");
    await page.waitForSelector(".note-popover");
  }
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async (tags) =>
    window.axe.run(document, { resultTypes: ["violations"], runOnly: { type: "tag", values: tags } }), TAGS
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
