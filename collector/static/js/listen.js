// The validator: other contributors' clips from the review queue, yes only after listening to the end.

import { ApiError, audioUrl, consentState, ensureToken, request, requestJson, token } from "./api.js";
import { $, apiUrl, config, onShortcuts, say, t } from "./page.js";

const QUEUE_SIZE = 10;
const ui = {
  startPanel: $("start-panel"),
  review: $("review"),
  expected: $("expected"),
  audio: $("clip-audio"),
  status: $("status"),
  play: $("play-btn"),
  yes: $("yes-btn"),
  no: $("no-btn"),
  skip: $("skip-btn"),
  reasonForm: $("reason-form"),
  empty: $("empty"),
  emptyText: $("empty-text"),
  error: $("error"),
};
const state = { queue: [], clip: null, played: false, busy: false, answered: 0 };

function showError(error) {
  say(ui.error, error instanceof ApiError ? error.message : t("reason_network"));
}

async function loadQueue() {
  say(ui.error, "");
  ui.startPanel.hidden = true;
  try {
    await ensureToken(config.urls.contributors);
    // only people who take part in the campaign judge its clips: a consent to its current text first
    const standing = await consentState(config.urls.myConsents, config.campaign);
    if (standing.status !== "current") return location.assign(config.urls.consentPage);
    const data = await requestJson("GET", `${config.urls.review}?count=${QUEUE_SIZE}`, { retries: 2 });
    state.queue = data.clips;
  } catch (error) {
    return showError(error);
  }
  next();
}

// Each state has one sentence of its own: loading, play to the end (first, or after a saved answer), can
// answer; and the end of the queue thanks only someone who answered something.
async function next({ afterVote = false } = {}) {
  if (state.clip?.url) URL.revokeObjectURL(state.clip.url);
  state.clip = state.queue.shift() || null;
  state.played = false;
  ui.reasonForm.hidden = true;
  ui.reasonForm.reset();
  ui.yes.disabled = true;
  ui.review.hidden = !state.clip;
  ui.empty.hidden = Boolean(state.clip);
  if (!state.clip) {
    ui.status.textContent = "";
    ui.emptyText.textContent = state.answered ? t("queue_done") : t("nothing_to_check");
    return;
  }
  ui.expected.textContent = state.clip.keyword;
  ui.status.textContent = t("loading_clip");
  try {
    state.clip.url = await audioUrl(state.clip.audio_url);
  } catch (error) {
    showError(error);
    return next({ afterVote });
  }
  ui.audio.src = state.clip.url;
  ui.review.dataset.clipId = state.clip.clip_id; // which clip is up: for assistive tools and tests
  ui.status.textContent = afterVote ? t("saved_play_next") : t("play_to_end");
}

function play() {
  if (!state.clip?.url) return;
  ui.audio.currentTime = 0;
  ui.audio.play();
}

function played() {
  state.played = true;
  ui.yes.disabled = false;
  ui.status.textContent = t("can_answer");
}

async function vote(valid, reason) {
  if (!state.clip || state.busy || (valid && !state.played)) return;
  state.busy = true;
  try {
    await request("POST", apiUrl("votes", state.clip.clip_id), {
      json: reason ? { valid, reason } : { valid },
      retries: 3,
    });
  } catch (error) {
    if (error instanceof ApiError && error.code === "consent_required") {
      return location.assign(config.urls.consentPage); // withdrawn, or a new text, since the queue loaded
    }
    // a vote already counted (a retry after a lost answer) is as good as a new one
    if (!(error instanceof ApiError && ["already_voted", "own_clip"].includes(error.code))) {
      state.busy = false;
      return showError(error);
    }
  }
  state.busy = false;
  state.answered += 1;
  say(ui.error, "");
  await next({ afterVote: true });
}

function askReason() {
  if (!state.clip) return;
  ui.reasonForm.hidden = false;
  ui.reasonForm.querySelector("input").focus();
}

function sendNo(event) {
  event.preventDefault();
  const reason = new FormData(ui.reasonForm).get("reason");
  if (!reason) return (ui.status.textContent = t("choose_reason"));
  vote(false, reason);
}

function main() {
  ui.audio.addEventListener("ended", played);
  ui.play.addEventListener("click", play);
  ui.yes.addEventListener("click", () => vote(true));
  ui.no.addEventListener("click", askReason);
  ui.skip.addEventListener("click", () => next());
  ui.reasonForm.addEventListener("submit", sendNo);
  $("start-btn").addEventListener("click", loadQueue);
  $("reload-btn").addEventListener("click", loadQueue);
  onShortcuts({ p: play, y: () => vote(true), n: askReason, s: () => next() });
  if (token.get()) loadQueue();
  else ui.startPanel.hidden = false;
}

main();
