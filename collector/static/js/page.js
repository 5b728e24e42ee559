// What the template hands to the scripts (URLs, campaign, translated messages) and small DOM helpers.

function readJson(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : {};
}

export const config = readJson("wc-config");
const messages = readJson("wc-messages");

/** Return the translated message `key` with `{name}` placeholders filled in. */
export function t(key, params = {}) {
  let text = messages[key] ?? key;
  for (const [name, value] of Object.entries(params)) text = text.replaceAll(`{${name}}`, String(value));
  return text;
}

/** Return the element with this id. */
export const $ = (id) => document.getElementById(id);

/** Show `text` in an element (as text, never HTML) and unhide it; hide it when text is empty. */
export function say(element, text) {
  element.textContent = text || "";
  element.hidden = !text;
}

/** Fill an API URL template such as "/api/v1/clips/{id}/audio". */
export function apiUrl(name, id) {
  return config.urls[name].replace("{id}", encodeURIComponent(id));
}

// Fields where a key is typing, not a command. Checkboxes and radio buttons are not among them: on those only
// Space keeps its meaning (ticking), so Enter and the letter keys still work after one was clicked.
const TYPING = "textarea, select, [contenteditable], dialog, input:not([type=checkbox], [type=radio], [type=button])";
const TICKING = "input[type=checkbox], input[type=radio]";

/** Call handlers for single-key shortcuts, except while the person types in a form field. */
export function onShortcuts(handlers) {
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const key = event.key === " " ? "Space" : event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const handler = handlers[key];
    if (!handler) return;
    const target = event.target instanceof Element ? event.target : document.body;
    if (target.closest(TYPING)) return;
    if (key === "Space" && target.closest(TICKING)) return;
    // On links and summaries Space and Enter keep their own meaning; on our buttons the shortcut wins,
    // and preventing the default keeps the focused button from being clicked a second time.
    if ((key === "Space" || key === "Enter") && target.closest("a, summary")) return;
    event.preventDefault();
    handler(event);
  });
}
