// Consent: an explicit licence choice and age confirmation, recorded through the API before any recording.

import { ApiError, consents, ensureToken, rememberConsent, request } from "./api.js";
import { $, config, say } from "./page.js";

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
  rememberConsent(config.campaign, config.consentVersion);
  location.assign(optIn ? config.urls.profilePage : config.urls.recordPage);
}

form.addEventListener("submit", give);
$("already").hidden = consents()[config.campaign] !== config.consentVersion;
