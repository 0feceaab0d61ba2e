// omnirt page: one WebRTC peer connection (mic + camera if any), the "events" data channel, the reply audio.
// Behind a cluster's front door (omnirt serve --cluster) the answer names the session: the page then follows it
// (GET /session) and, when its host is lost or the connection closes, offers again with that id from the same
// microphone; the door places it on a live host with its conversation. From a single server (no id) a lost
// connection just stops, as before.
"use strict";
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let pc = null, channel = null;
let media = null, iceServers = [], headers = {}, session = null, moving = false;  // kept across reconnections

function setStatus(state) { const s = $("status"); s.textContent = state; s.className = "status " + state; }
function showError(msg) { const e = $("error"); e.textContent = msg; e.hidden = !msg; }

function addLine(kind, text, partial) {
  const div = document.createElement("div");
  div.className = "line " + kind + (partial ? " partial" : "");
  div.textContent = text;
  $("transcript").appendChild(div);
  div.scrollIntoView({ block: "end" });
  return div;
}

async function getMedia() {
  // ?aec=0 turns the browser's echo cancellation off (headphones, or a test's fake microphone: with it on,
  // speech over the assistant's own playback can be suppressed as echo)
  const aec = new URLSearchParams(location.search).get("aec") !== "0";
  const audio = { echoCancellation: aec, noiseSuppression: aec, autoGainControl: aec };
  // The server reads the camera a few times a second at most (runtime/vision.py), and decodes every frame it is
  // sent: a stock browser sends 30 a second unless asked for fewer. A camera that cannot go slower is taken as it is.
  const slow = { frameRate: { ideal: 5, max: 10 } };
  for (const video of [slow, true]) {
    try { return await navigator.mediaDevices.getUserMedia({ audio, video }); }
    catch (e) { if (e.name !== "OverconstrainedError") break; }
  }
  try { return await navigator.mediaDevices.getUserMedia({ audio }); }
  catch (e) { showError("no microphone: " + e.message + " (listening only)"); return null; }
}

function gathered(pc, ms) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, ms);  // send what we have rather than hang
  });
}

// The server's STUN/TURN servers (none unless it was started with --ice-server), or its refusal in words.
async function config(headers) {
  const r = await fetch("/config", { headers });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error("server refused: " + (body.error || r.status + " " + r.statusText));
  return body;
}

// Say in words why no connection came, instead of a silent spinner: ICE failing, or nothing at all for a while.
function watchConnection(conn, ms) {
  const fail = () => {
    if (conn !== pc) return;  // an earlier session, already stopped
    showError("could not connect: no network path between this browser and the server (ICE failed). " +
      "From another machine, start the server with --host 0.0.0.0; behind NAT, give it --ice-server.");
    stop();
  };
  const timer = setTimeout(() => { if (conn.connectionState !== "connected") fail(); }, ms);
  conn.addEventListener("connectionstatechange", () => {
    if (conn.connectionState === "connected") clearTimeout(timer);
    if (conn.connectionState === "failed") { clearTimeout(timer); fail(); }
  });
}

async function start() {
  showError("");
  $("start").disabled = true;
  setStatus("connecting");
  forgetTurns();  // a new session numbers its turns from the start
  headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  iceServers = (await config(headers)).iceServers || [];
  media = await getMedia();
  try { await connect(); } catch (e) { showError("could not connect: " + e.message); stop(); }
}

// A peer connection over the media already captured; throws when the server refuses the offer.
async function connect() {
  const stream = media;
  const conn = pc = new RTCPeerConnection({ iceServers });
  if (stream) {
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    if (stream.getVideoTracks().length) { $("preview").srcObject = stream; $("preview").hidden = false; }
  }
  if (!stream || !stream.getAudioTracks().length) pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (ev) => { if (ev.track.kind === "audio") $("remote").srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    if (conn === pc && ["failed", "closed", "disconnected"].includes(conn.connectionState)) setStatus(conn.connectionState);
  };
  channel = pc.createDataChannel("events");
  channel.onmessage = (ev) => onEvent(JSON.parse(ev.data));
  channel.onclose = () => { if (conn === pc) lost(); };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 3000);
  const offer = { sdp: pc.localDescription.sdp, type: "offer" };
  if (session) offer.session = session;
  const r = await fetch("/offer", { method: "POST", headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify(offer) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error("server refused: " + (body.error || r.status + " " + r.statusText));
  await pc.setRemoteDescription({ sdp: body.sdp, type: body.type });
  watchConnection(pc, 8000);
  $("interrupt").disabled = false;
  $("stop").disabled = false;
  if (body.session) { session = body.session; follow(conn, session); }
}

// Ask the front door about this session until the connection is replaced: "lost" (its host died) reconnects.
async function follow(conn, id) {
  while (conn === pc && session === id) {
    let state;
    try {
      const r = await fetch("/session?id=" + encodeURIComponent(id), { headers });
      if (!r.ok) return;  // forgotten, or refused: nothing to follow
      state = (await r.json()).state;
    } catch (e) { await sleep(1000); continue; }  // the door itself unreachable for a moment: ask again
    if (conn !== pc) return;
    if (state === "lost") { lost(); return; }
    if (state !== "live") return;
  }
}

// The connection is gone. Without a session id (a single server) that is the end, as it always was; with one,
// offer again with the id (a few tries, backing off) without stopping the microphone or the camera.
async function lost() {
  if (!session) { stop(); return; }
  if (moving) return;
  moving = true;
  const id = session, old = pc;
  pc = null; channel = null;
  forgetTurns();  // the new host numbers its turns afresh; the lines on the page stay
  if (old) old.close();
  setStatus("reconnecting");
  let why = null;
  for (const wait of [0, 500, 1000, 2000, 4000]) {
    await sleep(wait);
    if (session !== id) break;  // stopped meanwhile
    try { await connect(); why = null; break; } catch (e) { why = e; if (pc) { pc.close(); pc = null; } }
  }
  moving = false;
  if (session !== id) { if (pc) stop(); return; }
  if (why) { showError("lost the connection and could not reconnect: " + why.message); stop(); }
}

function stop() {
  session = null;
  if (pc) pc.close();
  if (media) media.getTracks().forEach((t) => t.stop());
  pc = null; media = null;
  channel = null;
  $("preview").hidden = true;
  $("start").disabled = false; $("interrupt").disabled = true; $("stop").disabled = true;
  setStatus("idle");
}

// One user line and one assistant line per turn, found by the turn's number: events of a turn may arrive after a
// later turn's (a final transcript decoded late). A turn withdrawn by "rejoin" (you went on after a pause) stays
// withdrawn: its lines give way to the whole request's, and any late event of it is dropped.
const lines = { user: new Map(), assistant: new Map() };
const withdrawn = new Set();

function forgetTurns() { lines.user.clear(); lines.assistant.clear(); withdrawn.clear(); }

function lineOf(kind, turn) {
  let line = lines[kind].get(turn);
  if (!line || !line.isConnected) {
    line = addLine(kind, "", true);
    lines[kind].set(turn, line);
  }
  return line;
}

function onEvent(e) {
  if (withdrawn.has(e.turn) && ["user", "assistant_delta", "assistant_done"].includes(e.type)) return;
  switch (e.type) {
    case "status": setStatus(e.state); break;
    case "user": {  // partial transcripts update the turn's faded line while you talk; the final one settles it
      if (!e.text.trim()) break;
      const line = lineOf("user", e.turn);
      line.textContent = e.text;
      if (e.final) line.classList.remove("partial");
      break;
    }
    case "assistant_delta": lineOf("assistant", e.turn).textContent += e.text; break;
    case "assistant_done": {
      const line = lineOf("assistant", e.turn);
      line.textContent = e.text; line.classList.remove("partial"); break;
    }
    case "rejoin":  // you went on after a pause: that turn's lines give way to the whole request's
      withdrawn.add(e.joins);
      for (const kind of ["user", "assistant"]) {
        const line = lines[kind].get(e.joins);
        if (line) line.remove();
        lines[kind].delete(e.joins);
      }
      break;
    case "latency": drawWaterfall(e); break;
    case "error": showError(e.message); break;
    case "move": lost(); break;  // the host is being drained: offer again (with the session id) between turns
  }
}

// One row per latency segment (offset where the previous one ended), then the total; labelled with ms.
function drawWaterfall(e) {
  const box = document.createElement("div");
  box.className = "waterfall";
  box.innerHTML = "<h2></h2>";
  box.firstChild.textContent = `turn ${e.turn}: ${Math.round(e.total)} ms from the end of your speech to the first reply audio`;
  const scale = 100 / Math.max(e.total, 1) * 0.8;
  let at = 0;
  const rows = e.segments.map(([name, ms]) => { const r = [name, at, ms, ""]; at += ms; return r; });
  rows.push(["voice-to-voice", 0, e.total, "total"]);
  for (const [name, offset, ms, cls] of rows) {
    const row = document.createElement("div");
    row.className = "row";
    row.innerHTML = '<span class="name"></span><span class="track"><span class="bar"></span><span class="ms"></span></span>';
    row.querySelector(".name").textContent = name;
    const bar = row.querySelector(".bar");
    bar.style.left = offset * scale + "%"; bar.style.width = ms * scale + "%";
    if (cls) bar.classList.add(cls);
    const label = row.querySelector(".ms");
    label.style.left = (offset + ms) * scale + "%"; label.textContent = Math.round(ms) + " ms";
    box.appendChild(row);
  }
  $("latency").prepend(box);
}

$("start").onclick = () => start().catch((e) => { showError("could not connect: " + e.message); stop(); });
$("stop").onclick = stop;
$("interrupt").onclick = () => { if (channel && channel.readyState === "open") channel.send(JSON.stringify({ type: "interrupt" })); };
$("start").disabled = false;
setStatus("idle");
