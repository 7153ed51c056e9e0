// The script tag to paste into a site, a button that copies it, and a check that turns green
// once the site's first pageview has been stored.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html } from '../html.js';
import { usePolling } from '../use_api.js';

// How often the check asks: often enough to feel live, rarely enough to cost nothing.
const CHECK_EVERY_MS = 3_000;

// Copies `text`; where the clipboard is refused (no permission, old browser) it selects the
// snippet instead, so Ctrl+C finishes the job.
function CopyButton({ text, target }) {
  const [label, setLabel] = useState('Copy');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setLabel('Copied');
    } catch {
      getSelection().selectAllChildren(document.getElementById(target));
      setLabel('Press Ctrl+C');
    }
    setTimeout(() => setLabel('Copy'), 2_000);
  };
  return html`<button type="button" class="secondary" onClick=${copy}>${label}</button>`;
}

function FirstPageviewCheck({ domain }) {
  const [arrived, setArrived] = useState(false);
  usePolling(
    async () => {
      if (arrived) {
        return;
      }
      const answer = await api(`/api/stats/${encodeURIComponent(domain)}/top-stats?period=all&metrics=pageviews`)
        .catch(() => null);
      if (answer && (answer.current_visitors > 0 || answer.totals.metrics[0].value > 0)) {
        setArrived(true);
      }
    },
    CHECK_EVERY_MS,
    [domain, arrived]
  );
  return html`
    <p class=${`first-pageview ${arrived ? 'ok' : 'waiting'}`} role="status" data-testid="first-pageview">
      ${arrived
        ? html`Data is arriving. <a href=${`/sites/${encodeURIComponent(domain)}`}>Open the dashboard</a>`
        : 'Waiting for the first pageview…'}
    </p>`;
}

export function TrackingSnippet({ domain, snippet }) {
  return html`
    <div class="snippet">
      <p>Paste this into the <code>${'<head>'}</code> of every page of ${domain}:</p>
      <div class="snippet-row">
        <pre><code id="tracking-snippet" data-testid="snippet">${snippet}</code></pre>
        <${CopyButton} text=${snippet} target="tracking-snippet" />
      </div>
      <${FirstPageviewCheck} domain=${domain} />
    </div>`;
}
