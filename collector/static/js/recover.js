// Recovery link: take the token from the URL fragment into this browser, then drop it from the address bar.

import { ApiError, adoptToken, tokenFromLink } from "./api.js";
import { $, config, say, t } from "./page.js";

async function main() {
  const value = tokenFromLink(location.hash);
  history.replaceState(null, "", location.pathname); // out of the address bar and the history
  const status = $("status");
  if (!value) {
    status.textContent = "";
    return say($("error"), t("recover_missing"));
  }
  try {
    await adoptToken(config.urls.myClips, value);
  } catch (error) {
    status.textContent = "";
    return say($("error"), error instanceof ApiError && error.status === 401 ? t("recover_invalid") : t("reason_network"));
  }
  status.textContent = "";
  $("ok").hidden = false;
}

main();
