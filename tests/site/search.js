// Usage: node search.js HOME_URL WORDS  Types WORDS into the search box of the home page, submits the form, and
// prints the results the search page lists: [{text, section, href, snippet}], plus requests outside the site.
"use strict";
const { withBrowser, offlineOnly, output } = require("./chromium");

withBrowser(async (context) => {
  const [home, words] = process.argv.slice(2);
  const base = home.slice(0, home.lastIndexOf("/") + 1);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const outside = offlineOnly(page, base);
  await page.goto(home, { waitUntil: "load" });
  const box = page.getByRole("searchbox", { name: "Search the book" });
  await box.fill(words);
  await Promise.all([page.waitForURL(/search\.html/), box.press("Enter")]);
  await page.waitForSelector("#search-status:not(:empty)", { timeout: 10000 });
  const results = await page.$$eval(".result-group", (groups) =>
    groups.flatMap((group) =>
      Array.from(group.querySelectorAll(".result-link")).map((link) => ({
        text: group.querySelector(".result-text").textContent,
        section: link.querySelector(".result-section").textContent,
        href: link.getAttribute("href"),
        snippet: link.querySelector(".result-snippet").textContent,
        marked: Array.from(link.querySelectorAll("mark")).map((m) => m.textContent),
      }))
    )
  );
  const status = await page.textContent("#search-status");
  // Follow the first result: the passage must be there, on its page.
  let landed = null;
  if (results.length) {
    await page.click(".result-link");
    await page.waitForLoadState("load");
    landed = await page.evaluate(() => {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      const block = target && target.closest("p, li, div");
      return { url: location.href, found: !!target, text: block ? block.textContent : "" };
    });
  }
  output({ url: page.url(), status, results, landed, errors, outside });
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
