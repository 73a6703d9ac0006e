// ledbridge status page: live state over Server-Sent Events (EventSource reconnects by itself).
"use strict";

const $ = (id) => document.getElementById(id);
const canvases = new Map(); // device id → {canvas, ctx, img} of its live preview

function text(el, value) { if (el.textContent !== value) el.textContent = value; }

// badge sets a badge's label and colour, keeping the classes that name its role (.rtc, .online).
function badge(el, label, kind) {
  text(el, label);
  for (const k of ["ok", "warn", "bad"]) el.classList.toggle(k, k === kind);
}

// darkText tells whether black text reads better than white on the #rrggbb background (its
// relative luminance, WCAG's formula, against the point where both contrasts are equal).
function darkText(hex) {
  const lin = (i) => { const c = parseInt(hex.slice(i, i + 2), 16) / 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * lin(1) + 0.7152 * lin(3) + 0.0722 * lin(5) > 0.179;
}

function fmtMs(v) { return v ? v.toFixed(1) + " ms" : "—"; }

// fmtClock shows an RFC 3339 time as the viewer's local time; "—" for none (Go's zero time, year 1,
// which a meta without joinedAt gives).
function fmtClock(iso) {
  const t = Date.parse(iso);
  return t > 0 ? new Date(t).toLocaleTimeString() : "—";
}

// fmtIn says when an RFC 3339 time comes ("in 30 s", "now"), counted from now, the daemon's own
// time of the same snapshot: both are the daemon's clock, which a Pi that has not synced with NTP
// yet may have hours off the viewer's.
function fmtIn(iso, now) {
  const ms = Date.parse(iso) - Date.parse(now);
  if (!(ms > 0)) return "now";
  return ms < 90000 ? `in ${Math.ceil(ms / 1000)} s` : `in ${Math.round(ms / 60000)} min`;
}

// attr sets an attribute unless it already has the value (the page re-renders 4 times a second).
function attr(el, name, value) { if (el.getAttribute(name) !== value) el.setAttribute(name, value); }

function renderRoom(s) {
  text($("version"), s.version || "");
  text($("room-code"), s.room.code || "—");
  text($("room-host"), s.room.hostedBy === "lan" ? "on this bridge (LAN room server)" : "Supabase Realtime");
  text($("room-url"), s.room.url || "—");
  const c = s.room.connection;
  text($("room-state-name"), c.state + (c.lastError ? " — " : ""));
  text($("room-error"), c.lastError || ""); // a <bdi>: the server's words may hold bidi controls
  // The test pattern covers whatever the mode shows, so it is what the strips show now.
  const now = s.room.testPattern ? "test pattern" : (s.room.mode === "auto" ? s.room.look : "");
  text($("room-mode"), s.room.mode + (now ? " (now " + now + ")" : "") + (s.room.blackout ? ", blackout" : ""));
  text($("room-tempo"), s.room.tempo ? s.room.tempo.toFixed(0) + " BPM" : "—");
  text($("room-playing"), s.room.playing ? "playing" : "stopped");
  // ok with a reason is a daemon that works but is short of something (a loop falling behind).
  text($("health"), s.health.ok ? "ok" + (s.health.reason ? " — " + s.health.reason : "") : "unhealthy: " + s.health.reason);
}

function musicianItem(m) {
  const el = document.createElement("div");
  el.className = "item";
  el.dataset.id = m.id;
  // Names are <bdi>: a musician's name is whatever the room sent, bidi controls included.
  el.innerHTML = '<div class="top"><bdi class="name"></bdi><span class="away dim" hidden></span>' +
    '<span class="host badge ok" hidden>host</span>' +
    '<span class="rtc badge"></span></div>' +
    '<div class="meter" role="meter" aria-valuemin="-60" aria-valuemax="0" aria-valuenow="-60"><div></div></div>' +
    '<div class="notes"></div><div class="stats"></div>';
  return el;
}

// renderMusicians lists the musicians the bridge follows; notFollowed more are in the room past
// twice maxPeers (the bridge keeps no record of them), so the count says they exist.
function renderMusicians(list, maxPeers, notFollowed) {
  const box = $("musicians");
  const more = notFollowed > 0 ? `+${notFollowed} not followed` : "";
  text($("musician-count"), [list.length ? String(list.length) : "", more].filter(Boolean).join(" "));
  if (!list.length) { if (!box.querySelector("p")) box.innerHTML = '<p class="dim">Nobody in the room yet.</p>'; return; }
  box.querySelector("p")?.remove();
  const seen = new Set();
  for (const m of list) {
    seen.add(m.id);
    let el = box.querySelector(`[data-id="${CSS.escape(m.id)}"]`);
    if (!el) { el = musicianItem(m); box.appendChild(el); }
    const name = m.name || m.id;
    text(el.querySelector(".name"), name);
    // Left Presence with her connection up: it is kept for a rejoin, and her badge shows it live.
    const away = el.querySelector(".away");
    text(away, m.away ? "away" : "");
    away.hidden = !m.away;
    el.querySelector(".host").hidden = !m.isHost;
    const rtcKind = m.webrtc === "connected" ? "ok" : (m.webrtc === "failed" ? "bad" : "warn");
    if (m.waitingForSlot) {
      // Past webrtc.max_peers she has no connection, so "new" would never move: say why.
      badge(el.querySelector(".rtc"), `waiting: room full (max ${maxPeers})`, "warn");
    } else {
      badge(el.querySelector(".rtc"), m.webrtc + (m.codec ? " · " + m.codec : ""), rtcKind);
    }
    // RMS → dB meter over 60 dB.
    const db = Math.max(-60, Math.min(0, m.level > 0 ? 20 * Math.log10(m.level) : -60));
    el.querySelector(".meter > div").style.width = (db + 60) / 60 * 100 + "%";
    const meter = el.querySelector(".meter");
    attr(meter, "aria-valuenow", db.toFixed(0));
    attr(meter, "aria-valuetext", db > -60 ? db.toFixed(0) + " dB" : "silent");
    attr(meter, "aria-label", "Audio level of " + name);
    const notes = el.querySelector(".notes");
    const want = (m.notes || []).map((n) => n.name + "|" + n.color).join(",");
    if (notes.dataset.sig !== want) {
      notes.dataset.sig = want;
      notes.replaceChildren(...(m.notes || []).map((n) => {
        const s = document.createElement("span");
        s.className = "note";
        s.textContent = n.name;
        s.style.background = n.color;
        s.style.color = darkText(n.color) ? "#000" : "#fff";
        s.title = n.hz.toFixed(1) + " Hz, velocity " + n.velocity.toFixed(2);
        return s;
      }));
    }
    text(el.querySelector(".stats"), `joined ${fmtClock(m.joinedAt)} · ` +
      `loss ${m.lossPercent.toFixed(1)}% (${m.packetsLost}) · jitter ${m.jitterMs.toFixed(1)} ms` +
      (m.audioDroppedMs > 0 || m.packetsSkipped > 0 ?
        ` · dropped ${(m.audioDroppedMs / 1000).toFixed(1)} s, ${m.packetsSkipped} packets skipped` : ""));
  }
  for (const el of [...box.querySelectorAll(".item")]) if (!seen.has(el.dataset.id)) el.remove();
}

function deviceItem(d) {
  const el = document.createElement("div");
  el.className = "item";
  el.dataset.id = d.id;
  // A device not driven (a configured line whose name does not resolve or whose WLED does not
  // answer yet) has no preview: "not connected" stands in its place, and the error says why.
  el.innerHTML = '<div class="top"><bdi class="name"></bdi><span class="online badge"></span>' +
    '<button class="identify" hidden>Identify</button></div><canvas class="strip" role="img"></canvas>' +
    '<div class="strip-off" hidden>not connected</div><div class="stats"></div>' +
    '<div class="why" hidden><bdi class="error"></bdi><span class="retry"></span></div>';
  el.querySelector(".identify").addEventListener("click", () => control("identify", { device: d.id }));
  canvases.set(d.id, { canvas: el.querySelector("canvas"), ctx: null, img: null });
  return el;
}

function renderDevices(list, controls, now) {
  const box = $("devices");
  text($("device-count"), list.length ? String(list.length) : "");
  if (!list.length) { if (!box.querySelector("p")) box.innerHTML = '<p class="dim">No WLED device found yet.</p>'; return; }
  box.querySelector("p")?.remove();
  const seen = new Set();
  for (const d of list) {
    seen.add(d.id);
    let el = box.querySelector(`[data-id="${CSS.escape(d.id)}"]`);
    if (!el) { el = deviceItem(d); box.appendChild(el); }
    const name = d.name || d.id;
    text(el.querySelector(".name"), name);
    // A forced protocol may drive only the start of a longer strip: "490 of 600 LEDs"; a wled://
    // line not driven yet has no count until its WLED answers.
    const leds = d.deviceLeds ? `${d.leds} of ${d.deviceLeds}` : (d.leds ? String(d.leds) : "?");
    const canvas = el.querySelector("canvas");
    attr(canvas, "aria-label", `Live preview of ${name}: ${leds} LEDs${d.rgbw ? " RGBW" : ""}`);
    badge(el.querySelector(".online"), d.online ? "online" : "offline", d.online ? "ok" : "bad");
    el.querySelector(".identify").hidden = !controls || !d.driven; // only a driven strip can flash
    if (!d.driven && !canvas.hidden) {
      // No frame of a strip that is not driven: the last one painted (it was driven before)
      // would pass for what it shows now.
      canvas.width = 0;
      canvases.get(d.id).img = null;
    }
    canvas.hidden = !d.driven;
    el.querySelector(".strip-off").hidden = d.driven;
    const sent = d.driven ? ` · ${d.fps.toFixed(1)} fps · ${d.packets} packets · ${d.errors} errors` : " · not driven";
    text(el.querySelector(".stats"), `${d.ip || "?"} · ${leds} LEDs${d.rgbw ? " RGBW" : ""}${d.protocol ? ` · ${d.protocol}` : ""}${sent}` +
      `${d.look ? ` · look: ${d.look}` : ""}`);
    // Why it is not driven (or its configured line's look-ups fail), and when it is tried again.
    const why = el.querySelector(".why");
    why.hidden = !d.lastError;
    text(why.querySelector(".error"), d.lastError || ""); // a <bdi>: the device's or DNS's words
    text(why.querySelector(".retry"), d.attempts && d.nextAttempt ? ` · attempt ${d.attempts}, next ${fmtIn(d.nextAttempt, now)}` : "");
  }
  for (const el of [...box.querySelectorAll(".item")]) if (!seen.has(el.dataset.id)) { canvases.delete(el.dataset.id); el.remove(); }
}

function renderPipeline(p, dropped) {
  text($("p-fps"), p.fps.toFixed(1) + " fps (" + p.ticks + " ticks)");
  text($("p-frame"), fmtMs(p.frameTimeP50Ms) + " / " + fmtMs(p.frameTimeP99Ms));
  text($("p-late"), String(p.lateTicks));
  text($("p-latency"), fmtMs(p.latencyP50Ms) + " / " + fmtMs(p.latencyP99Ms));
  text($("p-cpu"), p.cpuPercent.toFixed(1) + " % of a core");
  text($("p-mem"), (p.rssBytes / 1048576).toFixed(1) + " MB · " + p.goroutines + " goroutines");
  text($("p-dropped"), `${dropped.broadcasts} broadcasts, ${dropped.signals} signals`);
}

function onStatus(s) {
  // Keep the brightness slider on the running value unless someone is dragging it.
  const slider = $("brightness");
  if (document.activeElement !== slider && typeof s.room.brightness === "number") slider.value = String(s.room.brightness);
  renderRoom(s);
  renderMusicians(s.musicians || [], s.maxPeers, s.musiciansNotFollowed || 0);
  renderDevices(s.devices || [], s.controls, s.time);
  syncTokenNeeded(); // the strips' identify buttons are new
  renderPipeline(s.pipeline, s.dropped);
  $("controls").hidden = !s.controls;
  for (const b of document.querySelectorAll("button[data-mode]")) attr(b, "aria-pressed", String(b.dataset.mode === s.room.mode));
}

// onPreview paints each strip's pixels, one canvas pixel per LED, reusing the canvas's context and
// ImageData between frames (30 per second).
function onPreview(p) {
  for (const [id, frame] of Object.entries(p)) {
    const view = canvases.get(id);
    if (!view) continue;
    const raw = atob(frame.px);
    const stride = frame.rgbw ? 4 : 3;
    const n = Math.floor(raw.length / stride);
    if (n === 0) continue;
    const canvas = view.canvas;
    // A new canvas is 300×150: set both sides, or a 300-LED strip would paint 1 row of 150.
    if (canvas.width !== n || canvas.height !== 1 || !view.img) {
      canvas.width = n;
      canvas.height = 1;
      view.ctx = canvas.getContext("2d");
      view.img = view.ctx.createImageData(n, 1);
    }
    const data = view.img.data;
    for (let i = 0; i < n; i++) {
      const o = i * stride;
      const w = frame.rgbw ? raw.charCodeAt(o + 3) : 0; // show white added to each channel
      data[i * 4] = Math.min(255, raw.charCodeAt(o) + w);
      data[i * 4 + 1] = Math.min(255, raw.charCodeAt(o + 1) + w);
      data[i * 4 + 2] = Math.min(255, raw.charCodeAt(o + 2) + w);
      data[i * 4 + 3] = 255;
    }
    view.ctx.putImageData(view.img, 0, 0);
  }
}

// showConnMsg shows why live updates stopped, or hides the line ("").
function showConnMsg(msg) {
  const el = $("conn-msg");
  text(el, msg);
  el.hidden = !msg;
}

// whyRefused asks the server once why it refused the live updates, since EventSource gives up on
// an HTTP error answer without showing it (the server's 429 past status.max_streams_per_client,
// its 503 when every viewer's slot is taken, a proxy's 502), shows the reason, and returns the
// answer's Retry-After in milliseconds (0 without one).
async function whyRefused() {
  const abort = new AbortController();
  try {
    const res = await fetch("api/events", { signal: abort.signal, cache: "no-store" });
    if (res.ok) { abort.abort(); return 0; } // a slot is free again: reconnect
    const plain = (res.headers.get("Content-Type") || "").startsWith("text/plain");
    const why = plain ? (await res.text()).trim().replace(/^status: /, "").slice(0, 300) : res.statusText;
    const retry = Number(res.headers.get("Retry-After"));
    const wait = Number.isInteger(retry) && retry > 0 ? retry : 0;
    showConnMsg(`Live updates refused (HTTP ${res.status}): ${why}` + (wait ? `. Trying again in ${wait} s.` : ""));
    return wait * 1000;
  } catch (err) {
    showConnMsg("The bridge does not answer: " + err.message);
    return 0;
  }
}

// connect follows the live updates. EventSource retries by itself after a dropped connection, but
// gives up for good on an HTTP error answer: then the page shows why and starts a new one itself,
// backing off up to 30 s, or as long as the server's Retry-After says.
let retryDelay = 1000;
function connect() {
  const es = new EventSource("api/events");
  es.addEventListener("open", () => { retryDelay = 1000; badge($("conn"), "live", "ok"); showConnMsg(""); });
  es.addEventListener("error", async () => {
    badge($("conn"), "reconnecting…", "warn");
    if (es.readyState !== EventSource.CLOSED) return; // it retries by itself
    const wait = Math.max(retryDelay, await whyRefused());
    retryDelay = Math.min(retryDelay * 2, 30000);
    setTimeout(connect, wait);
  });
  es.addEventListener("status", (e) => onStatus(JSON.parse(e.data)));
  es.addEventListener("preview", (e) => onPreview(JSON.parse(e.data)));
}

async function control(action, body) {
  const msg = $("control-msg");
  try {
    const res = await fetch("api/control/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Ledbridge-Token": $("token").value },
      body: JSON.stringify(body || {}),
    });
    const out = await res.json();
    text(msg, res.ok ? action + ": done" : action + ": " + out.error);
  } catch (err) {
    text(msg, action + ": " + err);
  }
}

// syncTokenNeeded disables the controls while the token field is empty, with a hint: the server
// answers a request without a token 401, so a button pressed then would do nothing.
function syncTokenNeeded() {
  const empty = $("token").value.trim() === ""; // fetch trims the header: spaces are no token
  for (const el of document.querySelectorAll("#controls button, #brightness, #devices .identify")) el.disabled = empty;
  $("token-hint").hidden = !empty;
}

function setupControls() {
  for (const b of document.querySelectorAll("button[data-mode]")) b.addEventListener("click", () => control("mode", { mode: b.dataset.mode }));
  $("brightness").addEventListener("change", (e) => control("brightness", { value: Number(e.target.value) }));
  $("blackout").addEventListener("click", () => control("blackout", { on: true }));
  $("unblackout").addEventListener("click", () => control("blackout", { on: false }));
  $("testpattern").addEventListener("click", () => control("test-pattern", { seconds: 5 }));
  try { $("token").value = sessionStorage.getItem("ledbridge-token") || ""; } catch (_) { /* storage may be off */ }
  $("token").addEventListener("change", (e) => { try { sessionStorage.setItem("ledbridge-token", e.target.value); } catch (_) { /* ignore */ } });
  $("token").addEventListener("input", syncTokenNeeded);
  syncTokenNeeded();
}

setupControls();
fetch("api/status").then((r) => r.json()).then(onStatus).catch(() => {});
connect();
