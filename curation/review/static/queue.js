// The review queue: one clip at a time, most suspicious first; keys p a r s u, and 1–9 for a reason.

import { $, call, config, drawSpectrogram, drawWave, onKeys, parseWav, withId } from "./common.js";

const BATCH = 10;
const REASON_KEYS = "1234567890"; // the tenth reason is 0
const queue = [];
const skipped = [];
let current = null;
let choosingReason = false;
let audioUrl = null;

function say(text) {
  $("review-status").textContent = text;
}

async function fetchMore() {
  const held = [...skipped, ...queue.map((card) => card.clip_id)];
  const url = `${config.urls.queue}?count=${BATCH}&skip=${encodeURIComponent(held.join(","))}`;
  const [status, body] = await call(url);
  if (status !== 200) throw new Error(body.error?.message || `the queue answered ${status}`);
  queue.push(...body.clips);
}

function showQuality(quality) {
  const rows = Object.entries(quality).map(([name, value]) => {
    const row = document.createElement("tr");
    const label = document.createElement("th");
    label.scope = "row";
    label.textContent = name;
    const cell = document.createElement("td");
    cell.textContent = String(value);
    row.append(label, cell);
    return row;
  });
  $("review-quality").replaceChildren(...rows);
}

async function showAudio(card) {
  const response = await fetch(card.audio_url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`the audio answered ${response.status}`);
  const buffer = await response.arrayBuffer();
  const { samples, rate } = parseWav(buffer);
  drawWave($("review-wave"), samples);
  drawSpectrogram($("review-spec"), samples, rate);
  if (audioUrl) URL.revokeObjectURL(audioUrl);
  audioUrl = URL.createObjectURL(new Blob([buffer], { type: "audio/wav" }));
  $("review-audio").src = audioUrl;
}

function showCard(card) {
  current = card;
  document.body.dataset.clip = card.clip_id;
  document.body.dataset.kind = card.kind;
  $("review-kind").textContent = card.kind_label;
  // room sound has no word to show: its length says what to expect when playing it
  $("review-keyword").textContent = card.kind === "ambience"
    ? `${(card.quality.duration_ms / 1000).toFixed(1)} s, no one should speak` : card.keyword;
  $("review-reasons").replaceChildren(...(card.reasons.length ? card.reasons : ["nothing flagged"]).map((reason) => {
    const item = document.createElement("li");
    item.textContent = reason;
    return item;
  }));
  $("review-up").textContent = card.up_votes;
  $("review-down").textContent = card.down_votes;
  $("review-clip-status").textContent = card.status;
  $("review-speaker").href = card.speaker_url;
  showQuality(card.quality);
  $("review-card").hidden = false;
  return showAudio(card);
}

async function next() {
  cancelReason();
  if (!queue.length) await fetchMore();
  const card = queue.shift();
  if (!card) {
    current = null;
    delete document.body.dataset.clip;
    $("review-card").hidden = true;
    say(skipped.length ? "Nothing left but the clips you skipped. Reload the page to see them again."
      : "Nothing left to review in this campaign.");
    return;
  }
  await showCard(card);
}

function play() {
  if (!current) return;
  const audio = $("review-audio");
  audio.currentTime = 0;
  audio.play().catch(() => say("The browser did not play the clip; use the player's own button."));
}

async function decide(decision, reason = undefined) {
  if (!current) return;
  const card = current;
  const [status, body] = await call(withId(config.urls.decision, card.clip_id), { decision, reason });
  if (status !== 201) {
    say(`Not saved: ${body.error?.message || status}`);
    return;
  }
  say(decision === "approve" ? `Approved “${card.keyword}”.` : `Rejected “${card.keyword}” (${reason}).`);
  await next();
}

function startReason() {
  if (!current) return;
  choosingReason = true;
  $("review-reject-reasons").hidden = false;
  $("review-reason-buttons").firstElementChild?.focus();
}

function cancelReason() {
  choosingReason = false;
  $("review-reject-reasons").hidden = true;
}

async function skip() {
  if (!current) return;
  skipped.push(current.clip_id);
  say(`Skipped “${current.keyword}”.`);
  await next();
}

async function undo() {
  const [status, body] = await call(config.urls.undo, {});
  if (status !== 200) {
    say(`Nothing undone: ${body.error?.message || status}`);
    return;
  }
  if (!body.restored.length) {
    say("There is nothing of yours to undo.");
    return;
  }
  if (current) queue.unshift(current);
  queue.unshift(...body.restored.slice(1));
  say(`Undone: “${body.restored[0].keyword}” is back to decide again.`);
  cancelReason();
  await showCard(body.restored[0]);
}

function reasonButtons() {
  const buttons = config.reasons.map((reason, index) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = `${REASON_KEYS[index] ?? ""} ${reason.replaceAll("_", " ")}`.trim();
    button.dataset.reason = reason;
    button.addEventListener("click", () => decide("reject", reason));
    return button;
  });
  $("review-reason-buttons").replaceChildren(...buttons);
}

function guarded(action) {
  return () => action().catch((error) => say(`Something went wrong: ${error.message}`));
}

function keys() {
  const handlers = { p: play, a: guarded(() => decide("approve")), r: startReason, s: guarded(skip),
    u: guarded(undo), Escape: cancelReason };
  config.reasons.forEach((reason, index) => {
    if (index < REASON_KEYS.length) {
      handlers[REASON_KEYS[index]] = () => choosingReason && guarded(() => decide("reject", reason))();
    }
  });
  onKeys(handlers);
}

reasonButtons();
keys();
$("review-play").addEventListener("click", play);
$("review-approve").addEventListener("click", guarded(() => decide("approve")));
$("review-reject").addEventListener("click", startReason);
$("review-skip").addEventListener("click", guarded(skip));
$("review-undo").addEventListener("click", guarded(undo));
guarded(next)();
