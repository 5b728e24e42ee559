// The recorder: prompts in sets of five, capture, checks before upload, upload with retry.

import { ambienceWanted, offerAmbience, setUpAmbience } from "./ambience.js";
import { ApiError, consentState, request, requestJson, retriable } from "./api.js";
import { analyse, encodeWav } from "./audio.js";
import { Microphone } from "./capture.js";
import { $, config, onShortcuts, say, t } from "./page.js";

const SET_SIZE = 5;
const TAIL_MS = 300;
const MAX_TAKE_MS = 6000;
const UPLOAD_RETRIES = 4;

const ui = {
  progressText: $("progress-text"),
  progress: $("set-progress"),
  prompt: $("prompt"),
  meter: $("meter"),
  meterFill: $("meter-fill"),
  status: $("status"),
  warnings: $("warnings"),
  overrideRow: $("override-row"),
  override: $("override"),
  rejection: $("rejection"),
  rejectionText: $("rejection-text"),
  record: $("record-btn"),
  play: $("play-btn"),
  submit: $("submit-btn"),
  audio: $("playback"),
  setDone: $("set-done"),
  setDoneStatus: $("set-done-status"),
  ambienceOffer: $("ambience-offer-btn"),
  body: $("recorder-body"),
};

// phase: loading | idle | starting | recording | stopping | review | uploading | rejected | ambience | done
const state = { phase: "loading", prompts: [], index: 0, take: null, mic: null, stopTimer: null };

function render() {
  const { phase, take } = state;
  const busy = ["loading", "starting", "stopping", "uploading", "ambience", "done"].includes(phase);
  ui.record.disabled = busy;
  ui.record.textContent = phase === "recording" ? t("stop") : take ? t("record_again") : t("record");
  ui.record.classList.toggle("recording", phase === "recording");
  ui.record.classList.toggle("primary", phase !== "review"); // after a take, submitting is the next step
  ui.submit.classList.toggle("primary", phase === "review");
  ui.play.disabled = !take || phase === "recording" || busy;
  ui.submit.disabled = !canSubmit();
  ui.overrideRow.hidden = !(phase === "review" && take?.report.warnings.length && !take.report.blocking);
  ui.progress.value = state.index;
  const current = Math.min(state.index + 1, SET_SIZE);
  ui.progressText.textContent = t("prompt_progress", { current, total: SET_SIZE });
  ui.setDone.hidden = phase !== "done";
  ui.body.hidden = phase === "done" || phase === "ambience";
}

function setPhase(phase, status = "") {
  state.phase = phase;
  ui.status.textContent = status;
  render();
}

function canSubmit() {
  const take = state.take;
  if (state.phase !== "review" || !take || take.report.blocking) return false;
  return take.report.warnings.length === 0 || ui.override.checked;
}

function showPrompt() {
  ui.prompt.textContent = state.prompts[state.index]?.keyword ?? "";
}

async function loadPrompts() {
  setPhase("loading", t("loading_prompts"));
  try {
    const data = await requestJson("GET", `${config.urls.prompts}?count=${SET_SIZE}`, { retries: 3 });
    state.prompts = data.prompts;
  } catch (error) {
    if (needsConsent(error)) return location.assign(config.urls.consentPage);
    return setPhase("loading", reasonText(error)); // nothing to record yet: reloading the page tries again
  }
  state.index = 0;
  if (!state.prompts.length) return setPhase("loading", t("no_prompts"));
  showPrompt();
  setPhase("idle");
}

// Peak-programme ballistics: the bar jumps up at once and falls back at METER_FALL_DB_PER_S, so a spoken word
// stays visible for a moment instead of flickering between two blocks of 43 ms.
const METER_FLOOR_DB = -60;
const METER_FALL_DB_PER_S = 20;
const meter = { db: METER_FLOOR_DB, at: 0 };

function updateMeter(peak) {
  const now = performance.now();
  const fallen = meter.db - (METER_FALL_DB_PER_S * (now - meter.at)) / 1000;
  meter.db = peak > 0 ? Math.max(20 * Math.log10(Math.max(peak, 1e-5)), fallen) : METER_FLOOR_DB;
  meter.at = now;
  const level = Math.min(1, Math.max(0, (meter.db - METER_FLOOR_DB) / -METER_FLOOR_DB));
  ui.meterFill.style.transform = `scaleX(${level})`;
  ui.meterFill.classList.toggle("loud", peak >= 0.5); // above −6 dBFS
  ui.meterFill.classList.toggle("hot", peak >= 0.99); // clipping
  ui.meter.setAttribute("aria-valuenow", String(Math.round(level * 100)));
}

function clearTake() {
  if (state.take) URL.revokeObjectURL(state.take.url);
  state.take = null;
  ui.audio.removeAttribute("src");
  ui.override.checked = false;
  say(ui.warnings, "");
  ui.rejection.hidden = true;
}

async function startRecording() {
  clearTake();
  if (!state.mic) {
    setPhase("starting", t("opening_mic"));
    try {
      state.mic = await Microphone.open(config.urls.worklet);
    } catch (error) {
      setPhase("idle");
      return say(ui.warnings, error.message === "unsupported" ? t("mic_unsupported") : t("mic_denied"));
    }
  }
  state.mic.start(updateMeter);
  state.stopTimer = setTimeout(stopRecording, MAX_TAKE_MS);
  setPhase("recording", t("recording"));
}

async function stopRecording() {
  if (state.phase !== "recording") return;
  clearTimeout(state.stopTimer);
  setPhase("stopping", t("stopping"));
  const samples = await state.mic.stop(TAIL_MS);
  updateMeter(0);
  const report = analyse(samples, state.mic.sampleRate);
  const wav = encodeWav(samples, state.mic.sampleRate);
  state.take = { wav, report, url: URL.createObjectURL(wav) };
  ui.audio.src = state.take.url;
  const problems = report.blocking ? [report.blocking] : report.warnings;
  say(ui.warnings, problems.map((code) => t(`warn_${code}`)).join(" "));
  setPhase("review", problems.length ? "" : t("review_take"));
}

function overrideChanged() {
  render();
  // the next step is Submit: focus it, so that Space and Enter are the recorder's keys again, not the box's
  if (ui.override.checked) ui.submit.focus();
}

function toggleRecording() {
  if (state.phase === "recording") stopRecording();
  else if (["idle", "review", "rejected"].includes(state.phase)) startRecording();
}

function play() {
  if (ui.play.disabled) return;
  ui.audio.currentTime = 0;
  ui.audio.play();
}

function reasonText(error) {
  if (!(error instanceof ApiError)) return t("reason_network");
  const key = `reason_${error.code}`;
  const text = t(key);
  return text === key ? t("reason_other") : text;
}

function needsConsent(error) {
  // the token is gone (erased from another device) or the consent is (withdrawn, or a new version)
  return error instanceof ApiError && (error.status === 401 || error.code === "consent_required");
}

function showFailure(error) {
  if (needsConsent(error)) return location.assign(config.urls.consentPage);
  // out of retries, but the take itself may be fine: keep it, so that Submit tries again later
  if (retriable(error)) return setPhase("review", reasonText(error));
  // one message and one action: the server's reason replaces the page's own warning, and the way on is
  // the Record button (now "Record again"), not a second button of the same name
  say(ui.warnings, "");
  ui.rejectionText.textContent = reasonText(error);
  ui.rejection.hidden = false;
  setPhase("rejected");
  ui.record.focus();
}

async function submit() {
  if (!canSubmit()) return;
  const form = new FormData();
  form.append("keyword", state.prompts[state.index].keyword);
  form.append("audio", state.take.wav, "recording.wav");
  let retried = false;
  setPhase("uploading", t("uploading"));
  try {
    await request("POST", config.urls.clips, {
      body: form,
      retries: UPLOAD_RETRIES,
      onRetry: (attempt) => {
        retried = true;
        ui.status.textContent = t("retrying", { attempt, max: UPLOAD_RETRIES });
      },
    });
  } catch (error) {
    // after a lost answer the retry finds its own first upload: that one was stored
    const stored = retried && error instanceof ApiError && error.code === "duplicate";
    if (!stored) return showFailure(error);
  }
  accepted();
}

function accepted() {
  clearTake();
  state.index += 1;
  if (state.index >= state.prompts.length) return askForAmbience();
  showPrompt();
  setPhase("idle", t("saved"));
}

// After a set, the campaign may ask for the room's sound (ambience.js); skipping it leaves an offer button.
async function askForAmbience({ force = false } = {}) {
  setPhase("ambience");
  if (!(await offerAmbience({ force }))) showDone("");
}

function showDone(message) {
  setPhase("done");
  say(ui.setDoneStatus, message);
  ui.ambienceOffer.hidden = !ambienceWanted();
  ui.setDone.focus();
}

async function openMic() {
  state.mic ??= await Microphone.open(config.urls.worklet);
  return state.mic;
}

async function main() {
  let standing;
  try {
    standing = await consentState(config.urls.myConsents, config.campaign);
  } catch (error) {
    return setPhase("loading", reasonText(error)); // reloading the page asks again
  }
  // nothing is recorded before consent to the campaign's current text, given on any device
  if (standing.status !== "current") return location.replace(config.urls.consentPage);
  ui.record.addEventListener("click", toggleRecording);
  ui.play.addEventListener("click", play);
  ui.submit.addEventListener("click", submit);
  ui.override.addEventListener("change", overrideChanged);
  $("next-set-btn").addEventListener("click", loadPrompts);
  ui.ambienceOffer.addEventListener("click", () => askForAmbience({ force: true }));
  setUpAmbience({ openMic, done: showDone, reasonText });
  onShortcuts({ Space: toggleRecording, p: play, Enter: submit });
  loadPrompts();
}

main();
