// Who is signed in, shared by every view: undefined while the first check runs, null when
// signed out, else {id, email}. Signing in stores the session's CSRF token for api.js.
import { useEffect, useState } from 'preact/hooks';
import { api, onSessionEnded, setCsrfToken } from './api.js';

let account;
const listeners = new Set();

function publish(next) {
  account = next;
  listeners.forEach((notify) => notify(next));
}

// Takes the answer of signup, login, password change or GET /api/auth/session.
export function signedIn({ account: who, csrf_token: token }) {
  setCsrfToken(token);
  publish(who);
}

export function signedOut() {
  setCsrfToken(null);
  publish(null);
}

onSessionEnded(signedOut);

// Asks the server once per page load; a 401 means signed out.
export async function loadSession() {
  try {
    signedIn(await api('/api/auth/session'));
  } catch (error) {
    if (error.status !== 401) {
      throw error;
    }
    signedOut();
  }
}

export function useAccount() {
  const [current, setCurrent] = useState(account);
  useEffect(() => {
    listeners.add(setCurrent);
    setCurrent(account);
    return () => listeners.delete(setCurrent);
  }, []);
  return current;
}
