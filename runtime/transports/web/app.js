// omnirt page: one WebRTC peer connection (mic + camera if any), the "events" data channel, the reply audio.
"use strict";
const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get("token");
let pc = null, channel = null, assistantLine = null;

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
  try { return await navigator.mediaDevices.getUserMedia({ audio, video: true }); }
  catch (e) {
    try { return await navigator.mediaDevices.getUserMedia({ audio }); }
    catch (e2) { showError("no microphone: " + e2.message + " (listening only)"); return null; }
  }
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
  const headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  const { iceServers } = await config(headers);
  const stream = await getMedia();
  pc = new RTCPeerConnection({ iceServers: iceServers || [] });
  if (stream) {
    stream.getTracks().forEach((t) => pc.addTrack(t, stream));
    if (stream.getVideoTracks().length) { $("preview").srcObject = stream; $("preview").hidden = false; }
  }
  if (!stream || !stream.getAudioTracks().length) pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (ev) => { if (ev.track.kind === "audio") $("remote").srcObject = ev.streams[0] || new MediaStream([ev.track]); };
  pc.onconnectionstatechange = () => {
    if (["failed", "closed", "disconnected"].includes(pc.connectionState)) { setStatus(pc.connectionState); }
  };
  channel = pc.createDataChannel("events");
  channel.onmessage = (ev) => onEvent(JSON.parse(ev.data));
  channel.onclose = () => stop();
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc, 3000);
  headers["Content-Type"] = "application/json";
  try {
    const r = await fetch("/offer", { method: "POST", headers, body: JSON.stringify(pc.localDescription) });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error("server refused: " + (body.error || r.status + " " + r.statusText));
    await pc.setRemoteDescription(body);
  } catch (e) { showError("could not connect: " + e.message); stop(); return; }
  watchConnection(pc, 8000);
  $("interrupt").disabled = false;
  $("stop").disabled = false;
}

function stop() {
  if (pc) { pc.getSenders().forEach((s) => s.track && s.track.stop()); pc.close(); pc = null; }
  channel = null;
  $("preview").hidden = true;
  $("start").disabled = false; $("interrupt").disabled = true; $("stop").disabled = true;
  setStatus("idle");
}

let userLine = null;

function onEvent(e) {
  switch (e.type) {
    case "status": setStatus(e.state); break;
    case "user":  // partial transcripts update one faded line while you talk; the final one replaces it
      if (!e.text.trim()) break;
      if (!userLine) userLine = addLine("user", "", true);
      userLine.textContent = e.text;
      if (e.final) { userLine.classList.remove("partial"); userLine = null; assistantLine = null; }
      break;
    case "assistant_delta":
      if (!assistantLine) assistantLine = addLine("assistant", "", true);
      assistantLine.textContent += e.text; break;
    case "assistant_done":
      if (!assistantLine) assistantLine = addLine("assistant", e.text);
      assistantLine.textContent = e.text; assistantLine.classList.remove("partial"); assistantLine = null; break;
    case "latency": drawWaterfall(e); break;
    case "error": showError(e.message); break;
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
