// The dashboard API client: JSON in and out, the session's CSRF token on every state-changing
// request (the server also checks Origin, which the browser sets), and failures as ApiError
// carrying the server's {"errors": {field: message}} so forms can show each next to its field.

let csrfToken = null;
let sessionEnded = () => {};
// A password-protected shared link's unlock token, sent on shared-link requests: framed by
// another site, the page gets no cookie (SameSite=Lax), so it proves the unlock itself.
let sharedUnlock = null;

export function setCsrfToken(token) {
  csrfToken = token;
}

export function setSharedUnlock(token) {
  sharedUnlock = token;
}

// `handler` runs when a signed-in call answers 401: the session expired or ended elsewhere.
// (Auth and shared-link calls answer 401 for their own reasons and do not count.)
export function onSessionEnded(handler) {
  sessionEnded = handler;
}

export class ApiError extends Error {
  constructor(status, errors) {
    const messages = Object.entries(errors).map(([field, message]) => `${field}: ${message}`);
    super(messages.join('; ') || `the request failed (HTTP ${status})`);
    this.status = status;
    this.errors = errors;
  }
}

// Calls `path` and returns its parsed JSON body (null for 204). Throws ApiError on HTTP errors,
// with {request: ...} when the body names no field (a proxy's error page, a lost connection).
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (sharedUnlock && path.startsWith('/api/shared/')) {
    headers['X-Plumb-Unlock'] = sharedUnlock;
  }
  if (method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    if (csrfToken) {
      headers['X-CSRF-Token'] = csrfToken;
    }
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, { request: 'the dashboard cannot be reached; check your connection' });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (response.status === 401 && !path.startsWith('/api/auth/') && !path.startsWith('/api/shared/')) {
    sessionEnded();
  }
  if (!response.ok) {
    const errors = data?.errors ?? { request: `the request failed (HTTP ${response.status})` };
    throw new ApiError(response.status, errors);
  }
  return data;
}

// Path segments are user data (domains, tokens): always encoded.
export const sitePath = (domain, rest = '') => `/api/sites/${encodeURIComponent(domain)}${rest}`;
