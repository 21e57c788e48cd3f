// Usage: node screenshots.js OUT_DIR WIDTH URL...  A screenshot of each page at WIDTH px (and, for a search URL,
// of its results); prints for each page what a reader's eye would catch: sideways scrolling, the body text size,
// and the note call opened in place.
"use strict";
const path = require("path");
const { withBrowser, output } = require("./chromium");

async function shoot(context, outDir, width, url, index) {
  const page = await context.newPage();
  await page.setViewportSize({ width, height: width < 600 ? 844 : 800 });
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.goto(url, { waitUntil: "load" });
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(300);
  const name = `${String(index).padStart(2, "0")}-${width}-${path.basename(new URL(url).pathname, ".html")}`;
  const file = path.join(outDir, `${name}.png`);
  await page.screenshot({ path: file });
  const metrics = await page.evaluate(() => {
    const paragraph = document.querySelector("main p");
    return {
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
      bodyFontPx: paragraph ? parseFloat(getComputedStyle(paragraph).fontSize) : null,
      fontFamily: paragraph ? getComputedStyle(paragraph).fontFamily : null,
      fontsLoaded: Array.from(document.fonts).filter((f) => f.status === "loaded").map((f) => f.family + " " + f.style),
      column: (() => {
        const main = document.querySelector("main");
        const r = main.getBoundingClientRect();
        return { left: r.left, width: r.width };
      })(),
    };
  });
  await page.emulateMedia({ media: "print" });
  const print = await page.evaluate(() => {
    const shown = (selector) => {
      const element = document.querySelector(selector);
      return element ? getComputedStyle(element).display !== "none" : null;
    };
    return { header: shown(".site-header"), pager: shown(".pager"), main: shown("main"), fontSize: getComputedStyle(document.documentElement).fontSize };
  });
  await page.emulateMedia({ media: "screen" });
  let note = null;
  const call = await page.$("a.footnote-ref");
  if (call) {
    await call.scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, -200));
    await call.click();
    const popover = await page.$(".note-popover");
    const noteFile = path.join(outDir, `${name}-note.png`);
    await page.screenshot({ path: noteFile });
    note = popover
      ? await page.evaluate(() => {
          const box = document.querySelector(".note-popover");
          const r = box.getBoundingClientRect();
          const call = document.querySelector("a.footnote-ref");
          const note = document.getElementById(decodeURIComponent(call.hash.slice(1)));
          const copy = note.cloneNode(true);
          copy.querySelectorAll(".footnote-number, .footnote-back").forEach((e) => e.remove());
          return {
            text: box.textContent,
            expected: "×Note " + call.textContent.trim() + copy.textContent,
            left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            call: call.getBoundingClientRect().toJSON(),
            url: location.href,
          };
        })
      : { url: page.url() };
    note.file = noteFile;
  }
  await page.close();
  return { url, file, errors, note, print, ...metrics };
}

withBrowser(async (context) => {
  const [outDir, width, ...urls] = process.argv.slice(2);
  const results = [];
  for (const [index, url] of urls.entries()) results.push(await shoot(context, outDir, Number(width), url, index));
  output(results);
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
