// Optional demographics in Common Voice codes; an empty answer means "prefer not to say".

import { ApiError, request, requestJson, token } from "./api.js";
import { $, config, say } from "./page.js";

const form = $("profile-form");
const accent = $("accent");
const undeclared = $("accent-undeclared");

async function save(event) {
  event.preventDefault();
  if (!token.get()) return location.assign(config.urls.consentPage);
  const value = (name) => form.elements[name].value.trim() || null;
  const profile = {
    age: value("age"),
    gender: value("gender"),
    accent: undeclared.checked ? null : value("accent"),
    native_language: value("native_language"),
  };
  try {
    await request("PUT", config.urls.profile, { json: profile, retries: 2 });
  } catch (error) {
    return say($("form-error"), error instanceof ApiError ? error.message : String(error));
  }
  location.assign(config.urls.recordPage);
}

accent.addEventListener("input", () => {
  undeclared.checked = accent.value.trim() === "";
});
undeclared.addEventListener("change", () => {
  if (undeclared.checked) accent.value = "";
});
async function prefill() {
  if (!token.get()) return;
  try {
    const profile = await requestJson("GET", config.urls.profile);
    for (const [name, value] of Object.entries(profile)) {
      if (value && form.elements[name]) form.elements[name].value = value;
    }
    undeclared.checked = !profile.accent;
  } catch {
    // nothing declared yet, or offline: the form starts empty
  }
}

form.addEventListener("submit", save);
prefill();
