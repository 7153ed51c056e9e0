// Client-side routing on the History API: every view has a real URL (bookmarkable, shareable);
// same-origin link clicks navigate without a reload.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

// Shows `url`; `replace` swaps the current history entry (redirects, which Back should skip).
export function navigate(url, { replace = false } = {}) {
  if (url === location.pathname + location.search) {
    return;
  }
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  listeners.forEach((notify) => notify());
}

// The {name} segments of `pattern` (such as /sites/{domain}) decoded from `path`, or null when
// the path does not have the pattern's shape.
export function matchPath(pattern, path) {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) {
    return null;
  }
  const params = {};
  for (let i = 0; i < want.length; ++i) {
    if (want[i].startsWith('{') && want[i].endsWith('}') && got[i] !== '') {
      params[want[i].slice(1, -1)] = decodeURIComponent(got[i]);
    } else if (want[i] !== got[i]) {
      return null;
    }
  }
  return params;
}

// The current location; re-renders the caller on navigation.
export function useLocation() {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const notify = () => setVersion((v) => v + 1);
    listeners.add(notify);
    addEventListener('popstate', notify);
    return () => {
      listeners.delete(notify);
      removeEventListener('popstate', notify);
    };
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

// Plain left clicks on same-origin links become navigations (modified clicks keep their meaning:
// new tab, download...).
addEventListener('click', (event) => {
  const link = event.target.closest?.('a[href]');
  if (!link || event.defaultPrevented || event.button !== 0 || link.target || link.download ||
      event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
    return;
  }
  const url = new URL(link.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/')) {
    return;
  }
  event.preventDefault();
  navigate(url.pathname + url.search);
});
