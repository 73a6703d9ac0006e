// Opens the status page in N separate headless Chromium processes and keeps them watching, for
// bridge/session's TestMeasureStatusPageCost (the daemon's CPU with viewers vs without).
//
//   node watch.mjs '{"url": "...", "browsers": 3, "chromium": "/usr/bin/chromium"}'
//
// Prints {"ready": true} once every page has painted a preview, then watches until its standard
// input closes, and prints {"pages": [{previews, statuses, seconds}, …]}: how many preview and
// status events each page received while watching, so the caller can check they kept up.
import { chromium } from "playwright-core";

const opts = JSON.parse(process.argv[2] || "{}");
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const args = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// countEvents wraps EventSource so the page counts the events app.js receives.
function countEvents() {
  const Native = window.EventSource;
  window.__events = { preview: 0, status: 0 };
  window.EventSource = class extends Native {
    constructor(...a) {
      super(...a);
      this.addEventListener("preview", () => window.__events.preview++);
      this.addEventListener("status", () => window.__events.status++);
    }
  };
}

const browsers = [];
const pages = [];
try {
  for (let i = 0; i < (opts.browsers || 3); i++) {
    const b = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", headless: true, args, timeout: 30000 });
    browsers.push(b);
    const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(countEvents);
    page.on("pageerror", (e) => emit({ pageError: e.message }));
    await page.goto(opts.url, { waitUntil: "load" });
    pages.push(page);
  }
  for (const page of pages) {
    await page.waitForFunction(() => [...document.querySelectorAll("#devices canvas")].some((c) => c.height === 1), null, { timeout: 20000 });
  }
  const start = await Promise.all(pages.map((p) => p.evaluate(() => ({ ...window.__events }))));
  const t0 = Date.now();
  emit({ ready: true });
  await new Promise((resolve) => { process.stdin.resume(); process.stdin.on("end", resolve); process.stdin.on("close", resolve); });
  const seconds = (Date.now() - t0) / 1000;
  const end = await Promise.all(pages.map((p) => p.evaluate(() => ({ ...window.__events }))));
  emit({ pages: end.map((e, i) => ({ previews: e.preview - start[i].preview, statuses: e.status - start[i].status, seconds })) });
} catch (err) {
  emit({ error: err.message });
  process.exitCode = 1;
} finally {
  await Promise.all(browsers.map((b) => b.close().catch(() => {})));
}
