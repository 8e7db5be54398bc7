/**
 * The token the dashboard signs in with, remembered in localStorage.
 * `switchyard up` prints `http://host/#token=<token>`: opening it stores the
 * token and drops it from the address bar (history.replaceState), so it
 * stays out of the history, bookmarks and screen shares.
 */
const TOKEN_KEY = 'switchyard.token';

export function storedToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  try {
    localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Private windows may refuse storage: the token then lasts this page only.
  }
}

export function forgetToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing stored, nothing to forget
  }
}

/** Reads `#token=…` from the address, stores it and removes it from the address bar. */
export function takeTokenFromUrl(): string | null {
  const m = /^#token=([^&]+)/.exec(window.location.hash);
  if (!m?.[1]) return null;
  let token: string;
  try {
    token = decodeURIComponent(m[1]).trim();
  } catch {
    return null;
  }
  window.history.replaceState(window.history.state, '', `${window.location.pathname}${window.location.search}#/`);
  if (!token) return null;
  storeToken(token);
  return token;
}
