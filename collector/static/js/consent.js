// Consent: an explicit licence choice and age confirmation, recorded through the API before any recording.

import { ApiError, consentState, ensureToken, request } from "./api.js";
import { $, config, say, t } from "./page.js";

const form = $("consent-form");

async function give(event) {
  event.preventDefault();
  if (!form.reportValidity()) return;
  const optIn = form.elements.demographics_opt_in.checked;
  const button = $("consent-submit");
  button.disabled = true;
  try {
    await ensureToken(config.urls.contributors);
    await request("POST", config.urls.consent, {
      json: {
        consent_version: config.consentVersion,
        consent_language: config.consentLanguage, // the text shown on this page, which the person read
        license: form.elements.license.value,
        age_confirmed: form.elements.age_confirmed.checked,
        demographics_opt_in: optIn,
      },
      retries: 2,
    });
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && error.code === "consent_version_outdated") return location.reload();
    return say($("form-error"), error.message);
  }
  location.assign(optIn ? config.urls.profilePage : config.urls.recordPage);
}

async function showStanding() {
  let standing;
  try {
    standing = await consentState(config.urls.myConsents, config.campaign);
  } catch {
    return; // unreachable now: the form still works, and its answer will tell
  }
  if (standing.status === "current") {
    // agreeing again would replace this consent (and its licence): say so rather than do it silently
    $("already-text").textContent = t("consent_already", { license: standing.consent.license });
    $("already").hidden = false;
  }
  $("changed").hidden = standing.status !== "outdated";
}

form.addEventListener("submit", give);
showStanding();
