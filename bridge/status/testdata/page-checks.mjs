// Drives Debian's Chromium (never a downloaded browser) against a status page served by
// bridge/status's TestPageInChromium, whose Provider describes a room built to show what the page
// got wrong: 20 strips, a musician with no joinedAt and bidi controls in her name, a test pattern
// running, and one live viewer per client. It checks what a person (and a screen reader) gets.
//
//   node page-checks.mjs '<json options>'
//
// Options: url, playwright (the package.json of the folder whose node_modules holds the pinned
// playwright-core: testdata/browser), chromium (path), musician (name), roomError (the Realtime
// error shown), devices (count of driven strips, named "Strip N (bar)"), pending and
// pendingError (the id of a device listed as not driven, and its error), outDir.
// Progress and results are JSON lines on stdout, the last one {"result": …, "error"?: …}.
// Exit status: 0 checks passed, 1 a check failed, 2 the browser itself failed.
import { createRequire } from "node:module";
import path from "node:path";

const opts = JSON.parse(process.argv[2] || "{}");
const { chromium } = createRequire(opts.playwright)("playwright-core");
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

class CheckFailed extends Error {}
const check = (cond, msg) => { if (!cond) throw new CheckFailed(msg); };

// The flags testdata/browser/status-page.mjs uses (root, no network but loopback).
const chromiumArgs = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// waitForRoom waits until the page shows the musician and every strip, painted by a preview
// when painted is set.
async function waitForRoom(page, painted) {
  await page.waitForFunction(({ musician, devices, painted }) => {
    const names = [...document.querySelectorAll("#musicians .item .name")].map((e) => e.textContent);
    const strips = [...document.querySelectorAll("#devices .item canvas")].filter((c) => !painted || c.height === 1);
    return names.includes(musician) && strips.length >= devices;
  }, { musician: opts.musician, devices: opts.devices, painted }, { timeout: 20000, polling: 100 });
}

// layout returns where the cards after the strips start, against the screen's height.
function layout(page) {
  return page.evaluate(() => {
    const top = (sel) => Math.round(document.querySelector(sel).closest("section").getBoundingClientRect().top + window.scrollY);
    return { screen: window.innerHeight, pipeline: top("#p-fps"), controls: top("#controls"), page: document.documentElement.scrollHeight,
      screenWidth: window.innerWidth, width: document.documentElement.scrollWidth };
  });
}

async function desktop(browser, result) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push("console: " + m.text()); });
  page.on("pageerror", (e) => errors.push("exception: " + e.message));
  await page.goto(opts.url, { waitUntil: "load" });
  await waitForRoom(page, true);
  emit({ step: "desktop: musician and strips shown" });

  // Display.
  const shown = await page.evaluate(({ roomStrings, pending }) => {
    // isolated tells whether a string the room sent sits alone in an element isolated from the
    // bidi context around it (<bdi>, unicode-bidi: isolate), wherever the page shows it.
    const isolated = (str) => {
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const where = [];
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (!n.data.includes(str)) continue;
        const el = n.parentElement;
        where.push({ in: el.tagName + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : ""), alone: el.textContent === str, bidi: getComputedStyle(el).unicodeBidi });
      }
      return { str, where, ok: where.length > 0 && where.every((w) => w.alone && w.bidi === "isolate") };
    };
    const item = document.querySelector("#musicians .item");
    const waiting = document.querySelector('#musicians .item[data-id="ana"] .rtc');
    return {
      stats: item.querySelector(".stats").textContent,
      waiting: waiting && { label: waiting.textContent, warn: waiting.classList.contains("warn") },
      // What follows each name: "away" where shown, "" where hidden.
      away: Object.fromEntries([...document.querySelectorAll("#musicians .item")].map((el) => {
        const next = el.querySelector(".name").nextElementSibling;
        const shown = next && next.classList.contains("away") && next.checkVisibility();
        return [el.dataset.id, shown ? next.textContent : ""];
      })),
      count: document.getElementById("musician-count").textContent,
      isolation: roomStrings.map(isolated),
      mode: document.getElementById("room-mode").textContent,
      stripStats: [...document.querySelectorAll("#devices .item .stats")].slice(0, 2).map((e) => e.textContent),
      pending: (() => {
        const el = document.querySelector(`#devices .item[data-id="${CSS.escape(pending)}"]`);
        if (!el) return null;
        const canvas = el.querySelector("canvas");
        const shownText = (sel) => { const e = el.querySelector(sel); return e && e.checkVisibility() ? e.textContent : ""; };
        return {
          badge: el.querySelector(".online").textContent,
          canvasShown: canvas.checkVisibility(), canvasPainted: canvas.height === 1,
          off: shownText(".strip-off"), stats: el.querySelector(".stats").textContent, why: shownText(".why"),
        };
      })(),
    };
  }, { roomStrings: [opts.musician, opts.roomError, opts.pendingError, ...Array.from({ length: opts.devices }, (_, i) => `Strip ${i + 1} (bar)`)], pending: opts.pending });
  result.shown = shown;
  check(shown.stats.startsWith("joined — ·"), `a musician without joinedAt shows ${JSON.stringify(shown.stats)}, want "joined — · …"`);
  for (const iso of shown.isolation) {
    check(iso.ok, `${JSON.stringify(iso.str)} is not isolated from the text around it: ${JSON.stringify(iso.where)}`);
  }
  // A musician past webrtc.max_peers has no connection: her badge says why instead of "new".
  check(shown.waiting && shown.waiting.label === "waiting: room full (max 8)" && shown.waiting.warn,
    `the musician waiting for a slot shows ${JSON.stringify(shown.waiting)}, want a warn badge "waiting: room full (max 8)"`);
  // A musician held after a Presence leave has a live connection badge: "away" by her name says
  // she is not in the room; one in Presence has none.
  check(shown.away.zoe === "away" && shown.away.ana === "",
    `the musicians' away marks read ${JSON.stringify(shown.away)}, want "away" for the one held, none for the one in Presence`);
  check(shown.count === "2 +3 not followed", `the musician count reads ${JSON.stringify(shown.count)}, want "2 +3 not followed"`);
  // Each strip says which look it has: its strips: entry's, or the global one.
  check(shown.stripStats[0].endsWith(" · look: strips[0]: pulse, reverse") && shown.stripStats[1].endsWith(" · look: global"),
    `the strips' lines read ${JSON.stringify(shown.stripStats)}, want each to end with its look`);
  // A strip a forced protocol drives only the start of names both counts; one that fits, one.
  check(shown.stripStats[0].includes(" · 30 LEDs · ") && shown.stripStats[1].includes(" · 30 of 60 LEDs · "),
    `the strips' lines read ${JSON.stringify(shown.stripStats)}, want "30 LEDs" for the first and "30 of 60 LEDs" for the second (deviceLeds 60)`);
  check(shown.mode === "auto (now test pattern)", `the mode line reads ${JSON.stringify(shown.mode)} while the test pattern runs`);
  // A configured line not driven (its name does not resolve) is listed: offline, "not connected"
  // where the preview would be (no frame painted), why, and when it is tried again.
  const p = shown.pending;
  check(p && p.badge === "offline" && !p.canvasShown && !p.canvasPainted && p.off === "not connected" &&
    p.stats.endsWith(" · not driven") && / · attempt 3, next in (2[5-9]|3[0-5]) s$/.test(p.why.slice(opts.pendingError.length)) && p.why.startsWith(opts.pendingError),
    `the line not driven shows ${JSON.stringify(p)}, want offline, "not connected" and no preview, "… · not driven", its error and its next attempt`);

  // Controls: disabled, with a hint, while the token field is empty (the server answers a request
  // without a token 401); typing a token enables them.
  const controlState = () => page.evaluate(() => ({
    disabled: [...document.querySelectorAll("#controls button, #brightness, #devices .identify")].map((b) => b.disabled),
    hint: !document.getElementById("token-hint").hidden,
  }));
  result.controlsEmpty = await controlState();
  check(result.controlsEmpty.disabled.length > 6 && result.controlsEmpty.disabled.every(Boolean) && result.controlsEmpty.hint,
    `with no token typed the controls are ${JSON.stringify(result.controlsEmpty)}, want all disabled and the hint shown`);
  await page.fill("#token", "a-long-enough-token");
  result.controlsTyped = await controlState();
  check(result.controlsTyped.disabled.every((d) => !d) && !result.controlsTyped.hint,
    `with a token typed the controls are ${JSON.stringify(result.controlsTyped)}, want all enabled and no hint`);
  // Nothing to flash on a strip not driven (Identify would answer "unknown device").
  const identify = await page.evaluate((id) => document.querySelector(`#devices .item[data-id="${CSS.escape(id)}"] .identify`)?.checkVisibility(), opts.pending);
  check(identify === false, `with a token typed the line not driven shows an Identify button (${identify})`);
  await page.fill("#token", "");

  // Layout: the cards after 20 strips are on the first screen.
  result.desktop = await layout(page);
  check(result.desktop.pipeline < result.desktop.screen && result.desktop.controls < result.desktop.screen,
    `with ${opts.devices} strips the pipeline and controls cards start at ${result.desktop.pipeline} and ${result.desktop.controls} px, below the ${result.desktop.screen} px screen`);

  // Accessibility.
  const a11y = await page.evaluate(() => ({
    canvases: [...document.querySelectorAll("#devices .item")].filter((el) => el.querySelector("canvas").checkVisibility()).map((el) => ({
      name: el.querySelector(".name").textContent, role: el.querySelector("canvas").getAttribute("role"), label: el.querySelector("canvas").getAttribute("aria-label") })),
    meters: [...document.querySelectorAll("#musicians .meter")].map((m) => ({
      role: m.getAttribute("role"), now: m.getAttribute("aria-valuenow"), min: m.getAttribute("aria-valuemin"), max: m.getAttribute("aria-valuemax"), label: m.getAttribute("aria-label") })),
    live: document.getElementById("conn").getAttribute("aria-live"),
    pressed: Object.fromEntries([...document.querySelectorAll("button[data-mode]")].map((b) => [b.dataset.mode, b.getAttribute("aria-pressed")])),
  }));
  result.a11y = a11y;
  for (const c of a11y.canvases) {
    check(c.role === "img" && c.label && c.label.includes(c.name) && /\b30 (of 60 )?LEDs\b/.test(c.label), `strip canvas ${JSON.stringify(c)}: want role img and a label with its name and LED count`);
  }
  check(a11y.meters.length === 2, `${a11y.meters.length} level meters, want 2`);
  for (const m of a11y.meters.slice(0, 1)) { // the first plays; the one waiting for a slot is silent
    const now = Number(m.now);
    check(m.role === "meter" && m.label && Number(m.min) <= now && now <= Number(m.max) && now > Number(m.min),
      `level meter ${JSON.stringify(m)}: want role meter, a label and a value above the minimum for a musician playing`);
  }
  check(a11y.live === "polite", `the connection badge has aria-live ${JSON.stringify(a11y.live)}`);
  check(JSON.stringify(a11y.pressed) === JSON.stringify({ auto: "true", local: "false", broadcast: "false" }), `mode buttons' aria-pressed ${JSON.stringify(a11y.pressed)}`);
  await page.screenshot({ path: path.join(opts.outDir, "desktop.png"), fullPage: true });

  // A second page from the same client, past status.max_streams_per_client (1 here): it says
  // why it gets no live updates instead of "reconnecting…" for ever.
  const second = await ctx.newPage();
  await second.goto(opts.url, { waitUntil: "load" });
  try {
    await second.waitForFunction(() => !document.getElementById("conn-msg").hidden, null, { timeout: 15000, polling: 100 });
  } catch {
    throw new CheckFailed(`a page past the per-client stream cap shows no reason: badge ${JSON.stringify(await second.textContent("#conn"))}`);
  }
  result.refused = await second.textContent("#conn-msg");
  check(/HTTP 429/.test(result.refused) && result.refused.includes("too many live viewers from this address") && /again in 10 s/.test(result.refused),
    `the refused page says ${JSON.stringify(result.refused)}`);
  emit({ step: "desktop: second page refused", shows: result.refused });
  await second.close();
  result.consoleErrors = errors;
  await ctx.close();
}

async function phone(browser, result) {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(opts.url, { waitUntil: "load" });
  await waitForRoom(page, false); // the desktop's stream may still hold the client's one slot
  result.phone = await layout(page);
  await page.screenshot({ path: path.join(opts.outDir, "phone.png"), fullPage: true });
  // One column: the room, musicians and (scrolling) strips cards come first, then the pipeline.
  check(result.phone.pipeline < 2 * result.phone.screen, `on a phone the pipeline card starts at ${result.phone.pipeline} px, more than two ${result.phone.screen} px screens down`);
  // Nothing is wider than the screen: the Realtime error holds one long URL. (A mobile browser
  // widens its layout viewport to what overflows, so innerWidth alone would grow with it.)
  const phoneWidth = page.viewportSize().width;
  check(result.phone.width <= phoneWidth && result.phone.screenWidth <= phoneWidth,
    `on a ${phoneWidth} px phone the page is ${result.phone.width} px wide (layout viewport ${result.phone.screenWidth} px)`);
  await ctx.close();
}

async function main() {
  const result = {};
  let browser;
  try {
    browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", headless: true, args: chromiumArgs, timeout: 30000 });
  } catch (err) {
    emit({ result, error: "launch: " + err.message });
    return 2;
  }
  let died = false;
  browser.on("disconnected", () => { died = true; });
  try {
    await desktop(browser, result);
    await phone(browser, result);
    emit({ result });
    return 0;
  } catch (err) {
    emit({ result, error: err.message });
    return err instanceof CheckFailed || !died ? 1 : 2;
  } finally {
    await browser.close().catch(() => {});
  }
}

process.exitCode = await main();
