// Drives Debian's Chromium (never a downloaded browser) against a running ledbridge status page and
// checks what a person would see. Run by bridge/session/browser_test.go, which owns the pipeline
// (room server, musician, fake WLED strips) and checks the strips themselves.
//
//   node status-page.mjs '<json options>'
//
// Options: url, token, outDir, musician (name), note (e.g. "A3"), devices (count), identify (a
// device id), roomCode, roomURL (what the room card must show), chromium (path). Progress and results are JSON lines on stdout; the last one is
// {"result": …}. {"event": "outage"} asks the caller to take the page's server down and bring it
// back; the caller answers with a line on stdin once it is back. Exit status: 0 checks passed, 1 a check failed, 2 the browser itself failed (the
// caller may retry once: about 1 headless run in 40 hangs or loses a child process).
import { chromium } from "playwright-core";
import path from "node:path";
import { createInterface } from "node:readline";

const opts = JSON.parse(process.argv[2] || "{}");
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

class CheckFailed extends Error {}
const check = (cond, msg) => { if (!cond) throw new CheckFailed(msg); };

// Flags measured to work here as root with no network but loopback (shared field notes).
const chromiumArgs = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--enable-logging=stderr", "--v=0",
];

// pixelsOf returns every preview canvas's pixels, keyed by device id, as plain arrays.
function pixelsOf(page) {
  // One evaluation that queries and reads: $$eval finds the elements and reads them in two round
  // trips, between which the page may replace them.
  return page.evaluate(() => Object.fromEntries([...document.querySelectorAll("#devices .item")].map((el) => {
    const c = el.querySelector("canvas");
    if (!c || !c.width || c.height !== 1) return [el.dataset.id, []]; // one pixel per LED once painted
    return [el.dataset.id, Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data)];
  })));
}

function lit(px) { let n = 0; for (let i = 0; i < px.length; i += 4) if (px[i] + px[i + 1] + px[i + 2] > 30) n++; return n; }
function same(a, b) { return a.length === b.length && a.every((v, i) => v === b[i]); }
function allRGB(px, v) { if (!px.length) return false; for (let i = 0; i < px.length; i += 4) if (px[i] !== v || px[i + 1] !== v || px[i + 2] !== v) return false; return true; }

// watch collects everything the page reports as going wrong.
function watch(page, label, errors) {
  const push = (msg) => (outage.active ? outage.errors : errors).push(msg);
  page.on("console", (m) => { if (m.type() === "error") push(`${label} console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`${label} exception: ${(e.stack || e.message).split("\n").slice(0, 4).join(" | ")}`));
  page.on("requestfailed", (r) => {
    // An EventSource closed by the page going away is not a failure.
    if (r.failure()?.errorText === "net::ERR_ABORTED") return;
    push(`${label} request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on("crash", () => errors.push(`${label} page crashed`));
}

// waitForPipeline waits until the page shows the musician with the note and every device.
async function waitForPipeline(page) {
  await page.waitForFunction(({ musician, note, devices }) => {
    const names = [...document.querySelectorAll("#musicians .item .name")].map((e) => e.textContent);
    const notes = [...document.querySelectorAll("#musicians .item .note")].map((e) => e.textContent);
    const strips = [...document.querySelectorAll("#devices .item canvas")].filter((c) => c.height === 1); // painted by a preview
    return names.includes(musician) && notes.includes(note) && strips.length >= devices;
  }, { musician: opts.musician, note: opts.note, devices: opts.devices }, { timeout: 20000, polling: 100 });
}

async function desktop(browser, errors, result) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  watch(page, "desktop", errors);
  await page.goto(opts.url, { waitUntil: "load" });
  await waitForPipeline(page);
  emit({ step: "desktop: musician, note and devices shown" });

  // The note chip is coloured as the strips colour it (the snapshot's colour for that note).
  // Read in the page in one evaluation, retried until the chip is in the document: the page rebuilds
  // the chips whenever the notes change, and a chip read after it was replaced has no style ($eval
  // finds the element and reads it in two round trips: 1 run in 11 read an empty colour).
  const chip = await (await page.waitForFunction(() => {
    const e = document.querySelector("#musicians .item .note");
    if (!e || !e.isConnected) return null;
    const bg = getComputedStyle(e).backgroundColor;
    return bg ? { text: e.textContent, bg } : null;
  }, null, { timeout: 5000, polling: 50 })).jsonValue();
  result.noteChip = chip;

  // The preview changes while audio plays: sample it until two samples differ.
  const first = await pixelsOf(page);
  let changed = null;
  for (let i = 0; i < 50 && !changed; i++) {
    await page.waitForTimeout(100);
    const now = await pixelsOf(page);
    changed = Object.keys(now).find((id) => now[id].length && first[id] && !same(now[id], first[id])) || null;
  }
  const after = await pixelsOf(page);
  result.previewLit = Object.fromEntries(Object.entries(after).map(([id, px]) => [id, lit(px)]));
  check(changed, "the strip preview did not change within 5 s while audio plays");
  check(Object.values(result.previewLit).some((n) => n > 0), "no LED lit in any preview while audio plays");
  result.previewChanged = changed;
  emit({ step: "desktop: preview changes", device: changed, lit: result.previewLit });

  // Fields the issue lists are filled in, with the pipeline's values.
  const shown = await page.evaluate(() => {
    const t = (id) => document.getElementById(id).textContent;
    const dev = [...document.querySelectorAll("#devices .item")].map((e) => e.querySelector(".online").textContent + " " + e.querySelector(".stats").textContent);
    const mus = [...document.querySelectorAll("#musicians .item")].map((e) => e.querySelector(".rtc").textContent + " " + e.querySelector(".stats").textContent);
    return { code: t("room-code"), host: t("room-host"), url: t("room-url"), state: t("room-state"), mode: t("room-mode"), fps: t("p-fps"), cpu: t("p-cpu"), dev, mus };
  });
  result.shown = shown;
  check(shown.code === opts.roomCode, `room code ${JSON.stringify(shown.code)}, want ${opts.roomCode}`);
  check(shown.host.includes("LAN") && shown.url === opts.roomURL, `room hosting ${JSON.stringify([shown.host, shown.url])}, want the LAN server at ${opts.roomURL}`);
  check(shown.state === "joined" && shown.mode.startsWith("auto (now "), `realtime/mode ${JSON.stringify([shown.state, shown.mode])}`);
  check(/^\d/.test(shown.fps) && /% of a core/.test(shown.cpu), `pipeline ${JSON.stringify([shown.fps, shown.cpu])}`);
  check(shown.mus.some((m) => m.startsWith("connected · opus") && /loss \d/.test(m) && /jitter \d/.test(m)), `musician details ${JSON.stringify(shown.mus)}`);
  for (const want of ["300 LEDs · ddp", "600 LEDs · dnrgb"]) {
    check(shown.dev.some((d) => d.startsWith("online 127.0.0.1 · " + want) && /fps · \d+ packets · 0 errors/.test(d)), `no online device showing "${want}": ${JSON.stringify(shown.dev)}`);
  }

  await page.screenshot({ path: path.join(opts.outDir, "status-desktop.png"), fullPage: true });
  emit({ step: "desktop: screenshot", file: "status-desktop.png" });

  // Identify: enter the token, click the strip's button, see its preview flash white and black.
  if (opts.identify) {
    check(await page.isVisible("#controls"), "controls are hidden although a token is configured");
    await page.fill("#token", opts.token);
    await page.dispatchEvent("#token", "change");
    const item = page.locator(`#devices .item[data-id="${opts.identify}"]`);
    const clickedAt = Date.now();
    await item.locator("button.identify").click();
    await page.waitForFunction(() => document.getElementById("control-msg").textContent.startsWith("identify:"), null, { timeout: 5000 });
    const msg = await page.textContent("#control-msg");
    check(msg === "identify: done", `identify answered ${JSON.stringify(msg)}`);
    emit({ event: "identify", device: opts.identify, clickedAt });
    let white = false, black = false;
    const seen = [];
    for (let i = 0; i < 60 && !(white && black); i++) {
      const px = (await pixelsOf(page))[opts.identify] || [];
      let mn = 255, mx = 0;
      for (let j = 0; j < px.length; j += 4) { mn = Math.min(mn, px[j], px[j + 1], px[j + 2]); mx = Math.max(mx, px[j], px[j + 1], px[j + 2]); }
      seen.push([Date.now() - clickedAt, mn, mx]);
      // White at the strip's brightness cap (and current budget): every channel equal and lit.
      if (px.length && px[0] > 0 && allRGB(px, px[0])) white = true; else if (white && allRGB(px, 0)) black = true;
      await page.waitForTimeout(40);
    }
    // Checked by the caller together with the fake strip's frames.
    result.identifyPreview = { white, black };
    result.identifyLit = seen;
    emit({ step: "desktop: identify", preview: result.identifyPreview, litPerSample: seen });
  }
  await ctx.close();
}

// outage collects the errors the page reports while the caller has its server down (a 503 on the
// event stream is logged by Chromium itself); they are expected, so not counted as console errors.
const outage = { active: false, errors: [] };

// nextLine resolves with the next line the caller writes on standard input.
const stdinLines = createInterface({ input: process.stdin });
const pendingLines = [];
const lineWaiters = [];
stdinLines.on("line", (l) => { const w = lineWaiters.shift(); if (w) w(l); else pendingLines.push(l); });
function nextLine() { return pendingLines.length ? Promise.resolve(pendingLines.shift()) : new Promise((r) => lineWaiters.push(r)); }

async function phone(browser, errors, result) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  watch(page, "phone", errors);
  await page.goto(opts.url, { waitUntil: "load" });
  await waitForPipeline(page);
  const layout = await page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll("body *")]
      .filter((e) => e.getClientRects().length && e.getBoundingClientRect().right > vw + 0.5)
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}.${e.className} right=${e.getBoundingClientRect().right.toFixed(0)}`);
    return { viewport: vw, scrollWidth: document.documentElement.scrollWidth, wide };
  });
  result.phone = layout;
  await page.screenshot({ path: path.join(opts.outDir, "status-phone.png"), fullPage: true });
  emit({ step: "phone: screenshot", file: "status-phone.png", layout });
  check(layout.scrollWidth <= layout.viewport && layout.wide.length === 0,
    `the page overflows a ${layout.viewport}px wide phone screen: ${JSON.stringify(layout)}`);

  // The page reconnects by itself: the caller takes the server down (503 for a while, which makes
  // EventSource give up for good) and brings it back; the page must go live again and update.
  await page.evaluate(() => {
    window.__conn = [];
    new MutationObserver(() => window.__conn.push(document.getElementById("conn").textContent))
      .observe(document.getElementById("conn"), { childList: true, characterData: true, subtree: true });
  });
  outage.active = true;
  emit({ event: "outage" });
  await nextLine();
  try {
    await page.waitForFunction(() => window.__conn.includes("reconnecting…") && window.__conn.at(-1) === "live", null, { timeout: 20000, polling: 100 });
  } catch (err) {
    throw new CheckFailed(`the page did not go live again within 20 s of its server coming back (badge texts ${JSON.stringify(await page.evaluate(() => window.__conn))})`);
  }
  outage.active = false;
  const ticks = await page.textContent("#p-fps");
  await page.waitForFunction((before) => document.getElementById("p-fps").textContent !== before, ticks, { timeout: 5000, polling: 100 });
  result.reconnect = { badges: await page.evaluate(() => window.__conn), expectedErrors: outage.errors.length };
  emit({ step: "phone: reconnected after the outage", badges: result.reconnect.badges });
  await ctx.close();
}

async function main() {
  const result = { consoleErrors: [] };
  let browser;
  try {
    browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", headless: true, args: chromiumArgs, timeout: 30000 });
  } catch (err) {
    emit({ result, error: "launch: " + err.message, browserFailed: true });
    return 2;
  }
  let code = 0;
  let browserDied = false;
  browser.on("disconnected", () => { browserDied = true; });
  try {
    await desktop(browser, result.consoleErrors, result);
    await phone(browser, result.consoleErrors, result);
    emit({ result });
  } catch (err) {
    const failed = err instanceof CheckFailed;
    code = failed || !browserDied ? 1 : 2;
    emit({ result, error: err.message, browserFailed: code === 2 });
  } finally {
    await browser.close().catch(() => {});
  }
  return code;
}

process.exitCode = await main();
stdinLines.close();
