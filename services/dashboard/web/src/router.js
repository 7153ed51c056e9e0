// Client-side routing on the History API: every view has a real URL (bookmarkable, shareable);
// same-origin link clicks navigate without a reload.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

export function navigate(url) {
  if (url === location.pathname + location.search) {
    return;
  }
  history.pushState(null, '', url);
  listeners.forEach((notify) => notify());
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
