// Usage: node hostile.js URL...  Opens each page, then moves the mouse over and clicks every element of its body,
// and prints, per page, the dialogs that opened (alert, confirm, prompt), the page's errors and how many elements
// were hovered and clicked: a text's script or event handler, had one survived the build, opens a dialog.
// A click on a link does not navigate (the page stays to be tried further), except a javascript: link, which runs.
"use strict";
const { withBrowser, output } = require("./chromium");

const STAY = `
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a[href]");
  if (link && !/^[\\s\\x00-\\x20]*j\\s*a\\s*v\\s*a\\s*s\\s*c\\s*r\\s*i\\s*p\\s*t\\s*:/i.test(link.getAttribute("href"))) {
    event.preventDefault();
  }
}, true);
document.addEventListener("submit", (event) => event.preventDefault(), true);`;

async function tryPage(context, url) {
  const page = await context.newPage();
  const dialogs = [];
  const errors = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  await page.addInitScript(STAY);
  // Wide enough for long headnotes to be open, narrow enough for the contents to be a drawer (a sidebar from
  // 1200 px, whose hundreds of links would be tried on every page): the drawer's links are tried once the click on
  // its summary has opened it.
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.goto(url, { waitUntil: "load" });
  const count = await page.evaluate(() => document.body.querySelectorAll("*").length);
  let hovered = 0;
  let clicked = 0;
  for (let index = 0; index < count; index++) {
    try {
      const element = (await page.$$("body *"))[index];
      if (!element) break;
      await element.scrollIntoViewIfNeeded().catch(() => {});
      const box = await element.boundingBox();
      if (!box || box.width < 1 || box.height < 1) continue;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      hovered++;
      await element.click({ timeout: 2000, force: true, noWaitAfter: true }).then(() => clicked++, () => {});
    } catch (error) {
      // The page was replaced under the element (a script's navigation): it is loaded again below.
    }
    await page.waitForLoadState("load");
    if (page.url().split("#")[0] !== url.split("#")[0]) {
      await page.goto(url, { waitUntil: "load" });
    }
  }
  await page.waitForTimeout(200); // a handler's dialog opens asynchronously
  await page.close();
  return { url, dialogs, errors, hovered, clicked };
}

withBrowser(async (context) => {
  const results = [];
  for (const url of process.argv.slice(2)) results.push(await tryPage(context, url));
  output(results);
});
