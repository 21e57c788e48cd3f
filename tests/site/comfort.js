// Usage: node comfort.js CHAPTER_URL  What a reader does on a chapter page, in headless Chromium, and what follows:
// the theme and text size chosen and carried to the next page, the contents as a sidebar on a wide screen, heading
// permalinks, the arrow keys, the focus through an open note and in the open drawer. Prints one JSON object.
"use strict";
const { withBrowser, output } = require("./chromium");

const background = (page) =>
  page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor.match(/\d+/g).slice(0, 3).map(Number));
const rootSize = (page) => page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));
const focused = (page) =>
  page.evaluate(() => {
    const active = document.activeElement;
    return {
      inDrawer: Boolean(active && active.closest("details.drawer")),
      inNote: Boolean(active && active.closest(".note-popover")),
      text: active ? (active.getAttribute("href") || active.id || active.tagName) : null,
    };
  });

withBrowser(async (context) => {
  const [url] = process.argv.slice(2);
  const result = {};
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(String(error)));

  // Themes on a phone: the system's by default, then the reader's, on this page and the next.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.emulateMedia({ colorScheme: "light" });
  await page.goto(url, { waitUntil: "load" });
  result.settingsShown = await page.isVisible(".reading-settings", { timeout: 0 }).catch(() => false);
  result.light = await background(page);
  await page.emulateMedia({ colorScheme: "dark" });
  result.systemDark = await background(page);
  await page.emulateMedia({ colorScheme: "light" });
  await page.click("details.drawer > summary");
  result.settingsShown = await page.isVisible(".reading-settings");
  await page.click("[data-theme-choice='dark']");
  result.chosenDark = await background(page);
  result.sizeBefore = await rootSize(page);
  await page.click("[data-text-size='1']");
  result.sizeLarger = await rootSize(page);
  const next = await page.getAttribute("link[rel='next']", "href");
  await page.goto(new URL(next, url).href, { waitUntil: "load" });
  result.nextPage = { background: await background(page), size: await rootSize(page) };
  await page.click("details.drawer > summary");
  await page.click("[data-theme-choice='system']");
  await page.click("[data-text-size='0']");
  result.reset = { background: await background(page), size: await rootSize(page) };

  // The open drawer keeps the focus: Tab twenty times, never outside it.
  const stops = [];
  for (let n = 0; n < 20; n++) {
    await page.keyboard.press("Tab");
    stops.push((await focused(page)).inDrawer);
  }
  result.drawerKeepsFocus = stops.every(Boolean);
  await page.keyboard.press("Escape");
  result.drawerClosedByEscape = !(await page.evaluate(() => document.querySelector("details.drawer").open));

  // The arrow keys turn the page.
  await page.goto(url, { waitUntil: "load" });
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("ArrowRight")]);
  result.arrowRightTo = page.url();
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("ArrowLeft")]);
  result.arrowLeftTo = page.url();

  // Headings' permalinks.
  result.headings = await page.evaluate(() =>
    Array.from(document.querySelectorAll("main :is(h2, h3, h4)[id]")).map((heading) => ({
      id: heading.id,
      permalink: (heading.querySelector("a.permalink") || {}).getAttribute?.("href") || null,
    }))
  );

  // An open note: Tab runs through it and on to what follows its call in the text, not to the top of the page.
  result.afterCall = await page.evaluate(() => {
    const selector = "a[href], button, input, summary";
    const all = Array.from(document.querySelectorAll(selector)).filter(
      (e) => e.getClientRects().length > 0 && e.tabIndex >= 0
    );
    const call = document.querySelector("main a.footnote-ref");
    const after = all[all.indexOf(call) + 1];
    return after ? after.getAttribute("href") || after.tagName : null;
  });
  await page.click("main a.footnote-ref");
  await page.waitForSelector(".note-popover");
  const path = [];
  for (let n = 0; n < 12; n++) {
    await page.keyboard.press("Tab");
    const where = await focused(page);
    path.push(where);
    if (!where.inNote) break;
  }
  result.noteTabPath = path;
  result.noteClosedAfter = (await page.$(".note-popover")) === null;

  // A wide screen: the contents beside the text, open, not over it, with this page's sections under its entry.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(url, { waitUntil: "load" });
  result.wide = await page.evaluate(() => {
    const drawer = document.querySelector("details.drawer");
    const panel = drawer.querySelector(".drawer-panel").getBoundingClientRect();
    const main = document.querySelector("main").getBoundingClientRect();
    const text = document.querySelector("main h1").getBoundingClientRect();
    return {
      open: drawer.open,
      panelRight: panel.right,
      textLeft: text.left,
      mainLeft: main.left,
      sections: Array.from(drawer.querySelectorAll(".sidebar-sections a")).map((a) => a.getAttribute("href")),
      // the reader's settings fit the sidebar: no button reaches past its edge (where it is cut off)
      settingsOverflow: Array.from(drawer.querySelectorAll(".reading-settings button"))
        .filter((b) => b.getBoundingClientRect().right > panel.right + 0.5)
        .map((b) => b.textContent),
      pageSections: Array.from(document.querySelectorAll("main .page-sections a")).map((a) => a.getAttribute("href")),
    };
  });
  await page.keyboard.press("Escape");
  result.wide.openAfterEscape = await page.evaluate(() => document.querySelector("details.drawer").open);
  // A note that is only "Ibid." pops up with the work it means.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto(url, { waitUntil: "load" });
  const ibid = await page.evaluate(() => {
    const citation = Array.from(document.querySelectorAll(".footnotes a.citation")).find((a) =>
      /^\s*ibid\b/i.test(a.textContent)
    );
    const note = citation && citation.closest(".footnote");
    const earlier = Array.from(document.querySelectorAll(".footnotes a.citation")).filter(
      (a) => a.getAttribute("href") === citation.getAttribute("href") && !/^\s*ibid\b/i.test(a.textContent)
    );
    return note ? { id: note.id, work: earlier.length ? earlier[0].textContent : null } : null;
  });
  if (ibid) {
    await page.click(`main a.footnote-ref[href="#${ibid.id}"]`);
    await page.waitForSelector(".note-popover");
    ibid.popup = await page.textContent(".note-popover");
  }
  result.ibid = ibid;
  result.errors = errors;
  output(result);
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
