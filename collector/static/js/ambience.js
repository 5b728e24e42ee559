// The recorder's optional room step: 15 s of the room's sound with a countdown, playback, send or skip.

import { ApiError, request, requestJson } from "./api.js";
import { encodeWav, peakOf } from "./audio.js";
import { $, config, say, t } from "./page.js";

export const AMBIENCE_SECONDS = 15; // the server takes 10-30 s (docs/ambience-and-auxiliary-words.md)
const DEAD_PEAK = 1 / 32768; // nothing above one 16-bit step: a muted or absent microphone
const POLL_MS = 200;
// a busy device delivers audio late or drops blocks: recording runs until AMBIENCE_SECONDS of audio arrived,
// and stops after this long in any case (the server wants at least 10 s)
const MAX_WAIT_S = AMBIENCE_SECONDS + 15;
const UPLOAD_RETRIES = 4;

const ui = {
  step: $("ambience-step"),
  status: $("ambience-status"),
  record: $("ambience-record-btn"),
  play: $("ambience-play-btn"),
  send: $("ambience-send-btn"),
  skip: $("ambience-skip-btn"),
  audio: $("ambience-playback"),
};

// phase: idle | recording | review | uploading; `sent` once the server stored one (asked no more)
const state = { phase: "idle", take: null, timer: null, sent: false, skipped: false, openMic: null, done: null };

function render() {
  const { phase, take } = state;
  ui.record.disabled = phase === "recording" || phase === "uploading";
  ui.record.textContent = take ? t("record_ambience_again") : ui.record.dataset.label;
  ui.play.disabled = !take || phase !== "review";
  ui.send.disabled = !take || phase !== "review";
  ui.skip.disabled = phase === "recording" || phase === "uploading";
}

function setPhase(phase, status = "") {
  state.phase = phase;
  ui.status.textContent = status;
  render();
}

function clearTake() {
  if (state.take) URL.revokeObjectURL(state.take.url);
  state.take = null;
  ui.audio.removeAttribute("src");
}

async function record() {
  if (state.phase === "recording" || state.phase === "uploading") return;
  clearTake();
  let mic;
  try {
    mic = await state.openMic();
  } catch {
    return setPhase("idle", t("mic_denied"));
  }
  mic.start(() => {});
  setPhase("recording", t("ambience_recording", { seconds: AMBIENCE_SECONDS }));
  const started = performance.now();
  await new Promise((resolve) => {
    state.timer = setInterval(() => {
      const left = Math.ceil(AMBIENCE_SECONDS - mic.capturedSeconds);
      if (left <= 0 || performance.now() - started > MAX_WAIT_S * 1000) {
        clearInterval(state.timer);
        return resolve();
      }
      ui.status.textContent = t("ambience_recording", { seconds: left });
    }, POLL_MS);
  });
  const samples = await mic.stop(0);
  if (peakOf(samples) < DEAD_PEAK) return setPhase("idle", t("ambience_silent"));
  const wav = encodeWav(samples, mic.sampleRate);
  state.take = { wav, url: URL.createObjectURL(wav) };
  ui.audio.src = state.take.url;
  setPhase("review", t("ambience_review"));
  ui.send.focus();
}

function play() {
  if (ui.play.disabled) return;
  ui.audio.currentTime = 0;
  ui.audio.play();
}

async function send(reasonText) {
  if (ui.send.disabled) return;
  const form = new FormData();
  form.append("keyword", config.ambienceWord);
  form.append("audio", state.take.wav, "room.wav");
  setPhase("uploading", t("uploading"));
  try {
    await request("POST", config.urls.clips, { body: form, retries: UPLOAD_RETRIES });
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "duplicate")) return setPhase("review", reasonText(error));
  }
  clearTake();
  state.sent = true;
  finish(t("ambience_saved"));
}

function finish(message) {
  ui.step.hidden = true;
  state.done(message);
}

async function alreadySent() {
  // one room recording per contributor and campaign is enough; a failed look-up offers the step anyway
  try {
    const data = await requestJson("GET", config.urls.myClips, { retries: 1 });
    return data.clips.some((clip) => clip.campaign === config.campaign && clip.kind === "ambience");
  } catch {
    return false;
  }
}

/** Show the step if the campaign asks for room sound and this contributor has not sent one; else false. */
export async function offerAmbience({ force = false } = {}) {
  if (!config.ambienceWord || state.sent || (state.skipped && !force)) return false;
  if (await alreadySent()) {
    state.sent = true;
    return false;
  }
  ui.step.hidden = false;
  setPhase("idle");
  ui.step.focus();
  return true;
}

/** Wire the step's buttons; `openMic()` gives the recorder's microphone, `done(message)` leaves the step. */
export function setUpAmbience({ openMic, done, reasonText }) {
  if (!config.ambienceWord) return;
  Object.assign(state, { openMic, done });
  ui.record.dataset.label = ui.record.textContent;
  ui.record.addEventListener("click", record);
  ui.play.addEventListener("click", play);
  ui.send.addEventListener("click", () => send(reasonText));
  ui.skip.addEventListener("click", () => {
    clearTake();
    state.skipped = true;
    finish("");
  });
}

/** Tell whether the campaign still wants this contributor's room sound (for the offer button). */
export function ambienceWanted() {
  return Boolean(config.ambienceWord) && !state.sent;
}
