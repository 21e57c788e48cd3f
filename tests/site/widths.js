// Usage: node widths.js WIDTHS URL...  Loads each page at each width (WIDTHS: comma-separated px, e.g. 320,390) and
// prints [{url, width, innerWidth, scrollWidth, culprit}]: culprit names the element reaching furthest right when
// the page is wider than the screen (what a reader would have to scroll sideways to see).
"use strict";
const { withBrowser, output } = require("./chromium");

async function measure(page, url, width) {
  await page.setViewportSize({ width, height: 800 });
  await page.goto(url, { waitUntil: "load" });
  await page.evaluate(() => document.fonts.ready);
  if (url.includes("search.html?")) await page.waitForSelector("#search-status:not(:empty)", { timeout: 10000 });
  return page.evaluate(() => {
    const innerWidth = window.innerWidth;
    const scrollWidth = document.documentElement.scrollWidth;
    let culprit = null;
    if (scrollWidth > innerWidth) {
      let right = innerWidth;
      for (const element of document.body.querySelectorAll("*")) {
        const box = element.getBoundingClientRect();
        if (box.right > right + 0.5 && box.width > 0) {
          right = box.right;
          culprit = `${element.tagName.toLowerCase()}.${element.className} ${Math.round(box.right)}px: ` +
            (element.textContent || "").trim().slice(0, 60);
        }
      }
    }
    return { innerWidth, scrollWidth, culprit };
  });
}

withBrowser(async (context) => {
  const [widths, ...urls] = process.argv.slice(2);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const results = [];
  for (const width of widths.split(",").map(Number)) {
    for (const url of urls) results.push({ url, width, ...(await measure(page, url, width)) });
  }
  output({ results, errors });
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
