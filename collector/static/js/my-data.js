// My data: one's clips with playback and status, delete one, a recovery link, withdraw and erase.

import { ApiError, adoptToken, audioUrl, request, requestJson, token, tokenFromLink } from "./api.js";
import { $, apiUrl, config, say, t } from "./page.js";

const ui = {
  noToken: $("no-token"),
  error: $("error"),
  status: $("status"),
  clipsSection: $("clips-section"),
  clips: $("clips"),
  clipsEmpty: $("clips-empty"),
  audio: $("clip-audio"),
  recoverySection: $("recovery-section"),
  linkRow: $("link-row"),
  link: $("recovery-link"),
  withdrawSection: $("withdraw-section"),
  eraseConfirm: $("erase-confirm"),
  eraseButton: $("erase-btn"),
  deleteDialog: $("delete-dialog"),
  pasteForm: $("paste-form"),
  pasteLink: $("paste-link"),
  pasteError: $("paste-error"),
};

function showError(error) {
  if (error instanceof ApiError && error.status === 401) {
    token.forget(); // erased elsewhere, or a stale key: nothing here belongs to anyone now
    return showSections(false);
  }
  say(ui.error, error instanceof ApiError ? error.message : t("reason_network"));
}

function showSections(withToken) {
  ui.noToken.hidden = withToken;
  for (const section of [ui.clipsSection, ui.recoverySection, ui.withdrawSection]) section.hidden = !withToken;
}

function clipItem(clip) {
  const item = document.createElement("li");
  item.className = "clip";
  item.dataset.kind = clip.kind;
  // room sound is uploaded under the word _ambience_, which means nothing to a person: it gets a name
  const name = clip.kind === "ambience" ? t("kind_ambience") : clip.keyword;
  const word = document.createElement("span");
  word.className = "clip-word";
  word.dir = "auto";
  word.textContent = name;
  const status = document.createElement("span");
  status.className = `badge ${clip.status}`;
  status.textContent = t(`status_${clip.status}`);
  const flags = document.createElement("span");
  flags.className = "hint";
  flags.textContent = (clip.flags || []).map((flag) => t(`flag_${flag}`)).join(", ");
  const play = button(t("play"), t("play_clip", { keyword: name }), () => playClip(clip));
  const remove = button(t("delete"), t("delete_clip", { keyword: name }), () => askDelete(clip, item));
  remove.classList.add("danger");
  const about = document.createElement("div");
  about.className = "clip-about";
  about.append(word, status);
  if (flags.textContent) about.append(flags);
  const actions = document.createElement("div");
  actions.className = "clip-actions";
  actions.append(play, remove);
  item.append(about, actions);
  item.dataset.clipId = clip.clip_id;
  return item;
}

function button(text, label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "small";
  element.textContent = text;
  element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}

async function loadClips() {
  try {
    const data = await requestJson("GET", config.urls.myClips, { retries: 2 });
    ui.clips.replaceChildren(...data.clips.map(clipItem));
    ui.clipsEmpty.hidden = data.clips.length > 0;
  } catch (error) {
    showError(error);
  }
}

async function playClip(clip) {
  try {
    if (ui.audio.src) URL.revokeObjectURL(ui.audio.src);
    ui.audio.src = await audioUrl(apiUrl("clipAudio", clip.clip_id));
    await ui.audio.play();
  } catch (error) {
    showError(error);
  }
}

function askDelete(clip, item) {
  ui.deleteDialog.returnValue = "";
  ui.deleteDialog.onclose = async () => {
    if (ui.deleteDialog.returnValue !== "delete") return;
    try {
      await request("DELETE", apiUrl("clip", clip.clip_id), { retries: 2 });
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) return showError(error);
    }
    item.remove();
    ui.clipsEmpty.hidden = ui.clips.children.length > 0;
    ui.status.textContent = t("deleted");
  };
  ui.deleteDialog.showModal();
}

function showLink() {
  const link = new URL(config.urls.recoverPage, location.href);
  // in the fragment, which browsers never send to a server, so it reaches no log
  link.hash = new URLSearchParams({ token: token.get() }).toString();
  ui.link.value = link.href;
  ui.linkRow.hidden = false;
  ui.link.select();
}

async function copyLink() {
  try {
    await navigator.clipboard.writeText(ui.link.value);
    ui.status.textContent = t("copied");
  } catch {
    ui.link.select(); // no clipboard permission: leave it selected for the person to copy
  }
}

async function erase() {
  if (ui.eraseButton.disabled) return;
  ui.eraseButton.disabled = true;
  ui.status.textContent = t("erasing");
  try {
    await request("DELETE", config.urls.me, { retries: 2 });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      ui.eraseButton.disabled = false;
      return showError(error);
    }
  }
  token.forget();
  ui.clips.replaceChildren();
  showSections(false);
  ui.noToken.hidden = true;
  ui.status.textContent = t("erased");
}

// A recovery link pasted here never leaves the page: only its token goes out, in the Authorization header.
async function openPastedLink(event) {
  event.preventDefault();
  const value = tokenFromLink(ui.pasteLink.value);
  if (!value) return say(ui.pasteError, t("recover_missing"));
  say(ui.pasteError, "");
  try {
    await adoptToken(config.urls.myClips, value);
  } catch (error) {
    const invalid = error instanceof ApiError && error.status === 401;
    return say(ui.pasteError, invalid ? t("recover_invalid") : t("reason_network"));
  }
  ui.pasteForm.reset();
  showSections(true);
  ui.status.textContent = t("recovered");
  loadClips();
}

function main() {
  $("show-link-btn").addEventListener("click", showLink);
  $("copy-link-btn").addEventListener("click", copyLink);
  ui.eraseConfirm.addEventListener("input", () => {
    ui.eraseButton.disabled = ui.eraseConfirm.value.trim().toUpperCase() !== t("erase_word").toUpperCase();
  });
  ui.eraseButton.addEventListener("click", erase);
  ui.pasteForm.addEventListener("submit", openPastedLink);
  showSections(Boolean(token.get()));
  if (token.get()) loadClips();
}

main();
