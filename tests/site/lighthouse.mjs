// Usage: node lighthouse.mjs URL...  Lighthouse (its default: a phone, simulated slow 4G and a slowed CPU) on each
// page, in one headless Debian chromium (CHROME_PATH, default /usr/bin/chromium) started once for all of them.
// The full-page screenshot (for Lighthouse's report viewer, not for any score) is not taken: seconds a long page.
// Prints [{url, scores: {performance, accessibility, best-practices, seo} (0-100), metrics: {lcp, cls, tbt, fcp}
// (ms, CLS unitless), failing: [audit ids of a category's audits scored under 0.9]}].
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH || "/usr/bin/chromium",
  chromeFlags: ["--headless", "--no-sandbox"],
});
const results = [];
try {
  for (const url of process.argv.slice(2)) {
    const { lhr } = await lighthouse(url, { port: chrome.port, output: "json", logLevel: "error", disableFullPageScreenshot: true });
    if (lhr.runtimeError) throw new Error(`${url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
    const scores = Object.fromEntries(Object.entries(lhr.categories).map(([id, c]) => [id, Math.round(c.score * 100)]));
    const audit = (id) => lhr.audits[id].numericValue;
    const weighted = new Set(Object.values(lhr.categories).flatMap((c) => c.auditRefs.filter((r) => r.weight > 0).map((r) => r.id)));
    const failing = [...weighted].filter((id) => lhr.audits[id].score !== null && lhr.audits[id].score < 0.9);
    const metrics = {
      fcp: audit("first-contentful-paint"),
      lcp: audit("largest-contentful-paint"),
      tbt: audit("total-blocking-time"),
      cls: audit("cumulative-layout-shift"),
    };
    results.push({ url, scores, metrics, failing });
  }
} finally {
  await chrome.kill();
}
console.log(JSON.stringify(results));
