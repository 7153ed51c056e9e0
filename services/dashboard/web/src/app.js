// The app shell: header, then the view the URL names.
import { html } from './html.js';
import { useLocation } from './router.js';

function Home() {
  return html`
    <section>
      <h1>Plumb</h1>
      <p>Privacy-first, cookieless website analytics.</p>
      <h2>Stats API</h2>
      <p>Read your numbers with an API key (<code>plumbctl api-key create --account EMAIL</code>):</p>
      <pre><code>curl -H "Authorization: Bearer $KEY" \\
  "${location.origin}/api/v1/stats/aggregate?site_id=example.com&period=day&metrics=visitors,pageviews"</code></pre>
      <p>Service health: <a href="/healthz">/healthz</a> · metrics: <a href="/metrics">/metrics</a></p>
    </section>`;
}

function NotFound({ path }) {
  return html`
    <section>
      <h1>Not found</h1>
      <p>Nothing lives at <code>${path}</code>. <a href="/">Back to the start</a>.</p>
    </section>`;
}

export function App() {
  const { path } = useLocation();
  return html`
    <header class="top"><a class="brand" href="/">Plumb</a></header>
    <main>${path === '/' ? html`<${Home} />` : html`<${NotFound} path=${path} />`}</main>`;
}
