// Recovery link: take the token from the URL fragment into this browser, then drop it from the address bar.

import { ApiError, request, token } from "./api.js";
import { $, config, say, t } from "./page.js";

async function main() {
  const value = new URLSearchParams(location.hash.slice(1)).get("token");
  history.replaceState(null, "", location.pathname); // out of the address bar and the history
  const status = $("status");
  if (!value) {
    status.textContent = "";
    return say($("error"), t("recover_missing"));
  }
  try {
    await request("GET", config.urls.myClips, { authorization: value, retries: 2 });
  } catch (error) {
    status.textContent = "";
    return say($("error"), error instanceof ApiError && error.status === 401 ? t("recover_invalid") : t("reason_network"));
  }
  token.set(value);
  status.textContent = "";
  $("ok").hidden = false;
}

main();
