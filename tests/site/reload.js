// Usage: node reload.js URL  Opens a page of the live preview, prints "ready", then waits for the page to reload
// by itself (its live-reload script sees a new build) and prints {reloaded, text} as JSON.
"use strict";
const { withBrowser } = require("./chromium");

withBrowser(async (context) => {
  const page = await context.newPage();
  await page.goto(process.argv[2], { waitUntil: "load" });
  await page.waitForTimeout(1500); // the script has polled once: it knows the current build
  process.stdout.write("ready\n");
  await page.waitForEvent("framenavigated", { timeout: 120000 });
  await page.waitForLoadState("load");
  const text = await page.textContent("main");
  process.stdout.write(JSON.stringify({ reloaded: true, text }) + "\n");
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
