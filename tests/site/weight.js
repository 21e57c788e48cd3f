// Usage: node weight.js URL  A first visit of one page at a phone's width in a fresh profile (nothing cached): every
// resource the page loads (the page itself, stylesheet, scripts, fonts), once the fonts are in, the reader has
// scrolled and the page has settled, with the bytes that came over the wire (`transferred`: the body as sent, so
// compressed where the server compresses) and the bytes of its body once decoded (`decoded`).
// Prints {url, resources: [{url, type, transferred, decoded}], transferred, decoded, errors}.
"use strict";
const { withBrowser, output } = require("./chromium");

withBrowser(async (context) => {
  const [url] = process.argv.slice(2);
  const page = await context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  const errors = [];
  const pending = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  let measuring = true; // a request that ends after the measurement (the browser closing) is not counted
  page.on("requestfinished", (request) => {
    if (!measuring) return;
    pending.push(
      (async () => {
        const response = await request.response();
        const sizes = await request.sizes();
        const body = await response.body();
        return { url: request.url(), type: request.resourceType(), transferred: sizes.responseBodySize, decoded: body.length };
      })().catch((error) => ({ url: request.url(), type: request.resourceType(), error: String(error) }))
    );
  });
  await page.goto(url, { waitUntil: "networkidle" });
  await page.evaluate(() => document.fonts.ready);
  await page.mouse.wheel(0, 4000); // a reader scrolls: italic and bold further down load too
  await page.waitForLoadState("networkidle");
  await page.evaluate(() => document.fonts.ready);
  measuring = false;
  const resources = await Promise.all(pending);
  resources.filter((resource) => resource.error).forEach((resource) => errors.push(`${resource.url}: ${resource.error}`));
  const sum = (key) => resources.reduce((total, resource) => total + resource[key], 0);
  output({ url, resources, transferred: sum("transferred"), decoded: sum("decoded"), errors });
}).catch((error) => {
  console.error(error);
  process.exit(1);
});
