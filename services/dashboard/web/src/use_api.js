// Data loading for views: useApi fetches a path whenever it changes (the latest answer wins),
// usePolling repeats a function on an interval while the view is shown.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

// {data, error, loading, reload} for GET `path`; a null path fetches nothing.
export function useApi(path) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!path) {
      return undefined;
    }
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    api(path)
      .then((data) => current && setState({ data, error: null, loading: false }))
      .catch((error) => current && setState({ data: undefined, error, loading: false }));
    return () => {
      current = false;
    };
  }, [path, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { ...state, reload };
}

// Calls `tick` now and every `ms` milliseconds, skipping while the tab is hidden (nobody looks,
// and background tabs should not load the server).
export function usePolling(tick, ms, deps) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    const run = () => document.visibilityState !== 'hidden' && latest.current();
    run();
    const timer = setInterval(run, ms);
    return () => clearInterval(timer);
  }, deps);
}
