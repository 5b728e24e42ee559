// One speaker's clips: listen to each, and reject them all in one confirmed step.

import { $, call, config } from "./common.js";

const start = $("speaker-reject-start");
const count = Number(start.dataset.count);

for (const button of document.querySelectorAll(".speaker-play")) {
  button.addEventListener("click", async () => {
    const response = await fetch(button.dataset.audio, { credentials: "same-origin" });
    const audio = $("speaker-audio");
    audio.src = URL.createObjectURL(await response.blob());
    audio.play().catch(() => {});
  });
}

$("speaker-reject").addEventListener("submit", (event) => {
  event.preventDefault();
  $("speaker-confirm-text").textContent =
    `Reject all ${count} clips of this speaker as “${$("speaker-reason").value.replaceAll("_", " ")}”?`;
  $("speaker-confirm").hidden = false;
  $("speaker-confirm-yes").focus();
});

$("speaker-confirm-no").addEventListener("click", () => {
  $("speaker-confirm").hidden = true;
  start.focus();
});

$("speaker-confirm-yes").addEventListener("click", async () => {
  const body = { decision: "reject", reason: $("speaker-reason").value, count };
  const [status, answer] = await call(config.urls.speakerDecision, body);
  $("speaker-confirm").hidden = true;
  if (status !== 201) {
    $("speaker-result").textContent = `Nothing rejected: ${answer.error?.message || status}`;
    return;
  }
  $("speaker-result").textContent = `Rejected ${answer.decided} clips.`;
  for (const cell of document.querySelectorAll(".speaker-decision")) cell.textContent = "reject";
  for (const cell of document.querySelectorAll(".speaker-status")) cell.textContent = "invalidated";
  start.disabled = true;
});
