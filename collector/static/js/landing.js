// Landing: "Take part" leads to the consent page, or straight to the recorder for someone who has agreed.

import { consentState } from "./api.js";
import { $, config, t } from "./page.js";

async function main() {
  let standing;
  try {
    standing = await consentState(config.urls.myConsents, config.campaign);
  } catch {
    return; // unreachable now: the consent page will ask again
  }
  // an outdated consent keeps the link to the consent page, which says that the text has changed
  if (standing.status !== "current") return;
  const link = $("take-part");
  link.href = config.urls.recordPage;
  link.textContent = t("continue_recording");
}

main();
