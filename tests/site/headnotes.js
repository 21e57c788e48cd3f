// Usage: node headnotes.js WIDTH URL...  Each page at WIDTH px: its headnotes (open or folded, marked to fold on a
// phone, characters of text) and how far down the page the text itself starts.
// Prints [{url, headnotes: [{open, folds, length}], textTop}].
"use strict";
const { withBrowser, output } = require("./chromium");

withBrowser(async (context) => {
  const [width, ...urls] = process.argv.slice(2);
  const page = await context.newPage();
  await page.setViewportSize({ width: Number(width), height: 800 });
  const results = [];
  for (const url of urls) {
    await page.goto(url, { waitUntil: "load" });
    results.push({
      url,
      ...(await page.evaluate(() => ({
        headnotes: Array.from(document.querySelectorAll(".headnote > details")).map((details) => ({
          open: details.open,
          folds: details.hasAttribute("data-fold-on-phone"),
          length: details.textContent.length,
        })),
        textTop: (() => {
          const text = document.querySelector(".chapter-text");
          return text ? text.getBoundingClientRect().top + window.scrollY : null;
        })(),
      }))),
    });
  }
  output(results);
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
