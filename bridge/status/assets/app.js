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

function renderRoom(s) {
  text($("version"), s.version || "");
  text($("room-code"), s.room.code || "—");
  text($("room-host"), s.room.hostedBy === "lan" ? "on this bridge (LAN room server)" : "Supabase Realtime");
  text($("room-url"), s.room.url || "—");
  const c = s.room.connection;
  text($("room-state"), c.state + (c.lastError ? " — " + c.lastError : ""));
  const look = s.room.look && s.room.mode === "auto" ? " (now " + s.room.look + ")" : "";
  text($("room-mode"), s.room.mode + look + (s.room.blackout ? ", blackout" : ""));
  text($("room-tempo"), s.room.tempo ? s.room.tempo.toFixed(0) + " BPM" : "—");
  text($("room-playing"), s.room.playing ? "playing" : "stopped");
  text($("health"), s.health.ok ? "ok" : "unhealthy: " + s.health.reason);
}

function musicianItem(m) {
  const el = document.createElement("div");
  el.className = "item";
  el.dataset.id = m.id;
  el.innerHTML = '<div class="top"><span class="name"></span><span class="host badge ok" hidden>host</span>' +
    '<span class="rtc badge"></span></div><div class="meter"><div></div></div>' +
    '<div class="notes"></div><div class="stats"></div>';
  return el;
}

function renderMusicians(list) {
  const box = $("musicians");
  text($("musician-count"), list.length ? String(list.length) : "");
  if (!list.length) { if (!box.querySelector("p")) box.innerHTML = '<p class="dim">Nobody in the room yet.</p>'; return; }
  box.querySelector("p")?.remove();
  const seen = new Set();
  for (const m of list) {
    seen.add(m.id);
    let el = box.querySelector(`[data-id="${CSS.escape(m.id)}"]`);
    if (!el) { el = musicianItem(m); box.appendChild(el); }
    text(el.querySelector(".name"), m.name || m.id);
    el.querySelector(".host").hidden = !m.isHost;
    const rtcKind = m.webrtc === "connected" ? "ok" : (m.webrtc === "failed" ? "bad" : "warn");
    badge(el.querySelector(".rtc"), m.webrtc + (m.codec ? " · " + m.codec : ""), rtcKind);
    // RMS → dB meter over 60 dB.
    const db = m.level > 0 ? 20 * Math.log10(m.level) : -60;
    el.querySelector(".meter > div").style.width = Math.max(0, Math.min(100, (db + 60) / 60 * 100)) + "%";
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
    text(el.querySelector(".stats"), `joined ${new Date(m.joinedAt).toLocaleTimeString()} · ` +
      `loss ${m.lossPercent.toFixed(1)}% (${m.packetsLost}) · jitter ${m.jitterMs.toFixed(1)} ms`);
  }
  for (const el of [...box.querySelectorAll(".item")]) if (!seen.has(el.dataset.id)) el.remove();
}

function deviceItem(d) {
  const el = document.createElement("div");
  el.className = "item";
  el.dataset.id = d.id;
  el.innerHTML = '<div class="top"><span class="name"></span><span class="online badge"></span>' +
    '<button class="identify" hidden>Identify</button></div><canvas class="strip"></canvas><div class="stats"></div>';
  el.querySelector(".identify").addEventListener("click", () => control("identify", { device: d.id }));
  canvases.set(d.id, { canvas: el.querySelector("canvas"), ctx: null, img: null });
  return el;
}

function renderDevices(list, controls) {
  const box = $("devices");
  text($("device-count"), list.length ? String(list.length) : "");
  if (!list.length) { if (!box.querySelector("p")) box.innerHTML = '<p class="dim">No WLED device found yet.</p>'; return; }
  box.querySelector("p")?.remove();
  const seen = new Set();
  for (const d of list) {
    seen.add(d.id);
    let el = box.querySelector(`[data-id="${CSS.escape(d.id)}"]`);
    if (!el) { el = deviceItem(d); box.appendChild(el); }
    text(el.querySelector(".name"), d.name || d.id);
    badge(el.querySelector(".online"), d.online ? "online" : "offline", d.online ? "ok" : "bad");
    el.querySelector(".identify").hidden = !controls;
    text(el.querySelector(".stats"), `${d.ip || "?"} · ${d.leds} LEDs${d.rgbw ? " RGBW" : ""} · ${d.protocol} · ` +
      `${d.fps.toFixed(1)} fps · ${d.packets} packets · ${d.errors} errors`);
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
  renderMusicians(s.musicians || []);
  renderDevices(s.devices || [], s.controls);
  renderPipeline(s.pipeline, s.dropped);
  $("controls").hidden = !s.controls;
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

// connect follows the live updates. EventSource retries by itself after a dropped connection, but
// gives up for good on an HTTP error answer (a proxy's 502, the server's 503 when too many pages
// watch): then the page starts a new one itself, backing off up to 30 s.
let retryDelay = 1000;
function connect() {
  const es = new EventSource("api/events");
  es.addEventListener("open", () => { retryDelay = 1000; badge($("conn"), "live", "ok"); });
  es.addEventListener("error", () => {
    badge($("conn"), "reconnecting…", "warn");
    if (es.readyState === EventSource.CLOSED) {
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
    }
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

function setupControls() {
  for (const b of document.querySelectorAll("button[data-mode]")) b.addEventListener("click", () => control("mode", { mode: b.dataset.mode }));
  $("brightness").addEventListener("change", (e) => control("brightness", { value: Number(e.target.value) }));
  $("blackout").addEventListener("click", () => control("blackout", { on: true }));
  $("unblackout").addEventListener("click", () => control("blackout", { on: false }));
  $("testpattern").addEventListener("click", () => control("test-pattern", { seconds: 5 }));
  try { $("token").value = sessionStorage.getItem("ledbridge-token") || ""; } catch (_) { /* storage may be off */ }
  $("token").addEventListener("change", (e) => { try { sessionStorage.setItem("ledbridge-token", e.target.value); } catch (_) { /* ignore */ } });
}

setupControls();
fetch("api/status").then((r) => r.json()).then(onStatus).catch(() => {});
connect();
