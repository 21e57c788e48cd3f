// Usage: node search.js HOME_URL WORDS...  For each WORDS: on the home page, presses "/" (the search shortcut), types
// WORDS into the box that has the focus, submits the form, shows every page of results ("Show … more"), and prints
// what the search page lists: [{words, focused, status, pages, results: [{text, section, href, snippet, marked,
// around}], landed, errors, outside}], `landed` being where the first result leads.
"use strict";
const { withBrowser, offlineOnly, output } = require("./chromium");

async function search(context, home, words) {
  const base = home.slice(0, home.lastIndexOf("/") + 1);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  const outside = offlineOnly(page, base);
  await page.goto(home, { waitUntil: "load" });
  await page.keyboard.press("/");
  const focused = await page.evaluate(() => {
    const active = document.activeElement;
    return active ? { id: active.id, label: active.labels && active.labels[0] ? active.labels[0].textContent : "" } : null;
  });
  await page.keyboard.type(words);
  await Promise.all([page.waitForURL(/search\.html/), page.keyboard.press("Enter")]);
  await page.waitForSelector("#search-status:not(:empty)", { timeout: 20000 });
  let pages = 1;
  while (await page.$(".search-more")) {
    await page.click(".search-more");
    pages += 1;
  }
  const results = await page.$$eval(".result-link", (links) =>
    links.map((link) => ({
      text: link.querySelector(".result-text-label").textContent,
      section: link.querySelector(".result-section").textContent,
      href: link.getAttribute("href"),
      snippet: link.querySelector(".result-snippet").textContent,
      marked: Array.from(link.querySelectorAll("mark")).map((m) => m.textContent),
      // the characters just before and after each mark: a whole word has no letter there
      around: Array.from(link.querySelectorAll("mark")).map((m) => {
        const before = m.previousSibling ? m.previousSibling.textContent : "";
        const after = m.nextSibling ? m.nextSibling.textContent : "";
        return [before.slice(-1), after.slice(0, 1)];
      }),
    }))
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
  await page.close();
  return { words, focused, status, pages, results, landed, errors, outside };
}

withBrowser(async (context) => {
  const [home, ...queries] = process.argv.slice(2);
  const found = [];
  for (const words of queries) found.push(await search(context, home, words));
  output(found);
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
