// Plays one musician of a jam room in Debian's Chromium (never a downloaded browser): musician.html
// with supabase-js joins the room on a ledbridge room server, and connects to the bridge over
// WebRTC, sending a sine tone. Run by bridge/session/chromium_musician_test.go, which owns the room
// server, the bridge and the fake WLED strips, and checks what the bridge makes of the musician.
//
//   node musician.mjs '<json options>'
//
// Options: chromium (path), url (the room server), room, id (peerId), name, host (bool), hz,
// mode ("offer" | "answer"), offerAfterMs, source ("tone" | "mic"), wav (a file for the fake
// microphone, with source "mic"), vsn (Realtime protocol version), connectTimeoutMs.
// Progress and results are JSON lines on stdout. {"event":"connected","report":{…}} once the page's
// RTCPeerConnection is connected; then the caller sends commands as JSON lines on stdin, each
// answered by {"event":"done","op":…}: {"op":"tone","hz":N} retunes the tone, {"op":"mute","on":B}
// disables or enables the track (the web app's mute button), {"op":"close"} closes the page
// without leaving (a closed tab), {"op":"report"}
// answers with the page's report, {"op":"leave"} leaves the room and closes the page. When stdin
// closes, the last line is {"result":{…report}, "error"?, "browserFailed"?}.
// Exit status: 0 fine, 1 a check failed (no connection, a page error), 2 the browser itself failed
// (the caller may retry once: about 1 headless run in 40 hangs or loses a child process).
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

const opts = JSON.parse(process.argv[2] || "{}");
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const here = path.dirname(fileURLToPath(import.meta.url));

class CheckFailed extends Error {}

// The page and supabase-js's UMD bundle (from testdata/realtime-interop, which pins supabase-js) are
// served from their own loopback origin, as the web app is served from its own: the room server sees
// a cross-origin WebSocket upgrade, as it does from the real app.
const files = {
  "/musician.html": [path.join(here, "musician.html"), "text/html; charset=utf-8"],
  "/supabase.js": [path.join(here, "..", "realtime-interop", "node_modules", "@supabase", "supabase-js", "dist", "umd", "supabase.js"), "text/javascript"],
};
function servePage() {
  const server = createServer(async (req, res) => {
    const f = files[new URL(req.url, "http://x").pathname];
    if (!f) { res.writeHead(404).end(); return; }
    try {
      res.writeHead(200, { "content-type": f[1], "cache-control": "no-store" }).end(await readFile(f[0]));
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// Flags measured to work here as root with no network but loopback (shared field notes): fake
// media, no user gesture for audio, real loopback addresses in ICE candidates instead of mDNS names.
const chromiumArgs = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
  "--autoplay-policy=no-user-gesture-required", "--disable-features=WebRtcHideLocalIpsWithMdns",
  "--allow-loopback-in-peer-connection", "--enable-logging=stderr", "--v=0",
];
if (opts.wav) chromiumArgs.push(`--use-file-for-fake-audio-capture=${opts.wav}`);

// Standard input, one command a line.
const stdinLines = createInterface({ input: process.stdin });
const pendingLines = [];
const lineWaiters = [];
let stdinClosed = false;
stdinLines.on("line", (l) => { const w = lineWaiters.shift(); if (w) w(l); else pendingLines.push(l); });
stdinLines.on("close", () => { stdinClosed = true; for (const w of lineWaiters.splice(0)) w(null); });
function nextLine() {
  if (pendingLines.length) return Promise.resolve(pendingLines.shift());
  if (stdinClosed) return Promise.resolve(null);
  return new Promise((r) => lineWaiters.push(r));
}

const readReport = (page) => page.evaluate(() => window.report);

async function play(page, pageErrors) {
  const q = new URLSearchParams({
    url: opts.url, room: opts.room, id: opts.id, name: opts.name || opts.id, host: opts.host ? "1" : "0",
    hz: String(opts.hz || 440), mode: opts.mode || "offer", offerAfterMs: String(opts.offerAfterMs || 4000),
    source: opts.source || "tone", vsn: opts.vsn || "2.0.0",
  });
  await page.goto(`${opts.pageOrigin}/musician.html?${q}`, { waitUntil: "load" });
  emit({ event: "step", step: "page loaded" });
  try {
    await page.waitForFunction(() => {
      const r = window.report;
      return r && (r.connectionState === "connected" || r.connectionState === "failed" || r.errors.length > 0);
    }, null, { timeout: opts.connectTimeoutMs || 30000, polling: 50 });
  } catch (err) {
    throw new CheckFailed(`the page did not connect to the bridge: ${err.message.split("\n")[0]}`);
  }
  const report = await readReport(page);
  if (report.connectionState !== "connected" || report.errors.length || pageErrors.length) {
    throw new CheckFailed(`the page did not connect to the bridge: state ${report.connectionState}, errors ${JSON.stringify([...report.errors, ...pageErrors])}`);
  }
  emit({ event: "connected", report });

  for (let line; (line = await nextLine()) !== null;) {
    const cmd = JSON.parse(line);
    switch (cmd.op) {
      case "tone":
        await page.evaluate((hz) => window.musician.setTone(hz), cmd.hz);
        emit({ event: "done", op: cmd.op });
        break;
      case "mute":
        await page.evaluate((on) => window.musician.mute(on), cmd.on);
        emit({ event: "done", op: cmd.op });
        break;
      case "close": {
        // The tab closed: no leave, no untrack; the page's sockets and connection just go.
        const last = await readReport(page);
        await page.close();
        emit({ event: "done", op: cmd.op, report: last });
        return last;
      }
      case "report":
        emit({ event: "done", op: cmd.op, report: await readReport(page) });
        break;
      case "leave": {
        const last = await readReport(page);
        await page.evaluate(() => window.musician.leave());
        await page.close();
        emit({ event: "done", op: cmd.op, report: last });
        return last;
      }
      default:
        throw new CheckFailed(`unknown command ${line}`);
    }
  }
  return readReport(page);
}

async function main() {
  const server = await servePage();
  opts.pageOrigin = `http://127.0.0.1:${server.address().port}`;
  let browser;
  try {
    browser = await chromium.launch({ executablePath: opts.chromium || "/usr/bin/chromium", headless: true, args: chromiumArgs, timeout: 30000 });
  } catch (err) {
    emit({ result: {}, error: "launch: " + err.message, browserFailed: true });
    server.close();
    return 2;
  }
  let browserDied = false;
  browser.on("disconnected", () => { browserDied = true; });
  const pageErrors = [];
  const page = await browser.newPage();
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => pageErrors.push(`exception: ${(e.stack || e.message).split("\n").slice(0, 4).join(" | ")}`));
  page.on("crash", () => { browserDied = true; pageErrors.push("page crashed"); });
  let code = 0;
  try {
    const result = await play(page, pageErrors);
    emit({ result, pageErrors });
  } catch (err) {
    // A check that failed is the bridge's or the page's doing; anything else (a crashed page, a
    // playwright call that timed out on a hung browser) is the browser's.
    code = browserDied || !(err instanceof CheckFailed) ? 2 : 1;
    const result = await readReport(page).catch(() => ({}));
    emit({ result, pageErrors, error: err.message, browserFailed: code === 2 });
  } finally {
    await browser.close().catch(() => {});
    server.close();
  }
  return code;
}

process.exitCode = await main();
stdinLines.close();
