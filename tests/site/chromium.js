// Headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core, for the HTML edition's tests.
// A fresh profile each time, and no background networking: the site must work offline.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const EXECUTABLE = process.env.CHROMIUM || "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Run fn(context) in a fresh browser profile; the profile is removed afterwards. */
async function withBrowser(fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "anthology-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: EXECUTABLE,
    headless: true,
    args: FLAGS,
  });
  try {
    return await fn(context);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** Fail the page if it asks for anything outside the site (a CDN, a font service). */
function offlineOnly(page, base) {
  const outside = [];
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(base) && !url.startsWith("data:")) outside.push(url);
  });
  return outside;
}

function output(result) {
  process.stdout.write(JSON.stringify(result, null, 1) + "\n");
}

module.exports = { withBrowser, offlineOnly, output };
