// The HTTP API v1 client the pages share: the bearer token in localStorage, JSON errors, retries.

const TOKEN_KEY = "wordcrowd.token";
const MAX_BACKOFF_MS = 8000;

/** An answer of the API that is not a success, with the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfterSeconds = 0) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

// Only the token lives in the browser; consents are asked of the API (consentState), so they follow the
// contributor to any device their recovery link is opened on.
export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (value) => localStorage.setItem(TOKEN_KEY, value),
  forget: () => localStorage.removeItem(TOKEN_KEY),
};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = response.statusText;
  try {
    const body = await response.json();
    ({ code, message } = body.error);
  } catch {
    // not the API's JSON error (a proxy's page, say): keep the HTTP status as the code
  }
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") || "0", 10) || 0;
  return new ApiError(response.status, code, message, retryAfter);
}

async function once(method, url, { json, body, authorization } = {}) {
  const headers = { Accept: "application/json" };
  const bearer = authorization ?? token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  // credentials "omit": the API authenticates by bearer token only, so no cookie rides along
  const response = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** True for failures worth another try: the network (fetch's TypeError), a 5xx, or 429. */
export function retriable(error) {
  return !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
}

/** Call the API; on network failure, 5xx or 429 try again `retries` times with exponential backoff. */
export async function request(method, url, options = {}) {
  const { retries = 0, onRetry } = options;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await once(method, url, options);
    } catch (error) {
      if (attempt >= retries || !retriable(error)) throw error;
      const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
      const wait = error.retryAfterSeconds ? error.retryAfterSeconds * 1000 : backoff;
      onRetry?.(attempt + 1, wait, error);
      await sleep(wait);
    }
  }
}

/** Call the API and return its JSON answer. */
export async function requestJson(method, url, options = {}) {
  return (await request(method, url, options)).json();
}

/** Return this browser's token, first creating an anonymous contributor when there is none. */
export async function ensureToken(contributorsUrl) {
  if (!token.get()) {
    const created = await requestJson("POST", contributorsUrl, { retries: 2 });
    token.set(created.token);
  }
  return token.get();
}

/**
 * Ask the API where the contributor stands with a campaign's consent: {status, consent}, status being
 * "current" (may record), "outdated" (agreed to an older text) or "none". Throws when the API is unreachable.
 */
export async function consentState(consentsUrl, slug) {
  const none = { status: "none", consent: null };
  if (!token.get()) return none;
  let answer;
  try {
    answer = await requestJson("GET", consentsUrl, { retries: 2 });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    token.forget(); // erased from another device: a new consent starts a new contributor
    return none;
  }
  const consent = answer.consents.find((entry) => entry.campaign === slug);
  if (!consent) return none;
  return { status: consent.current ? "current" : "outdated", consent };
}

/** Fetch a clip's audio with the bearer header and return a blob: URL for an <audio> element. */
export async function audioUrl(url) {
  const response = await request("GET", url, { retries: 2 });
  return URL.createObjectURL(await response.blob());
}

/** Return the token in a recovery link (its #token= fragment), or the text itself when it is a bare token. */
export function tokenFromLink(text) {
  const value = (text || "").trim();
  const fragment = value.includes("#") ? value.slice(value.indexOf("#") + 1) : "";
  if (fragment) return new URLSearchParams(fragment).get("token") || "";
  return /^[\w-]{20,}$/.test(value) ? value : "";
}

/** Check a recovered token with the API (it throws ApiError 401 for an unknown one), then keep it here. */
export async function adoptToken(myClipsUrl, value) {
  await request("GET", myClipsUrl, { authorization: value, retries: 2 });
  token.set(value);
}
