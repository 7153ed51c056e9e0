// The site list (visitors today and a sparkline of today's hours per site) and the form that
// adds a site and hands out its tracking snippet.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Field, FormErrors, useSubmit } from '../components/form.js';
import { Sparkline } from '../components/sparkline.js';
import { TrackingSnippet } from '../components/tracking_snippet.js';
import { formatMetric } from '../format.js';
import { timezoneOptions } from '../timezones.js';
import { html } from '../html.js';
import { useApi } from '../use_api.js';

function SiteCard({ site }) {
  const base = `/api/stats/${encodeURIComponent(site.domain)}`;
  const today = useApi(`${base}/top-stats?period=day&metrics=visitors`);
  const hours = useApi(`${base}/main-graph?period=day&metrics=visitors`);
  const visitors = today.data?.totals.metrics[0].value;
  return html`
    <li class="site-card">
      <a href=${`/sites/${encodeURIComponent(site.domain)}`} class="site-link">
        <span class="site-domain">${site.domain}</span>
        <span class="site-today"><strong data-testid="visitors-today">${formatMetric('visitors', visitors)}</strong>
          visitors today</span>
        <${Sparkline} values=${hours.data?.series.visitors} />
      </a>
      ${site.role !== 'viewer' &&
      html`<a class="site-settings" href=${`/sites/${encodeURIComponent(site.domain)}/settings`}
        aria-label=${`Settings of ${site.domain}`}>Settings</a>`}
    </li>`;
}

export function SiteListView() {
  const { data, error } = useApi('/api/sites');
  return html`
    <section>
      <div class="heading-row">
        <h1>Your sites</h1>
        <a class="button" href="/sites/new">Add a site</a>
      </div>
      ${error && html`<p role="alert" class="error">${error.message}</p>`}
      ${data && data.sites.length === 0 && html`<p>No sites yet. Add one to start counting.</p>`}
      ${data && html`<ul class="site-list">${data.sites.map((site) => html`<${SiteCard} key=${site.domain} site=${site} />`)}</ul>`}
    </section>`;
}

export function AddSiteView() {
  const [site, setSite] = useState(null);
  const { onSubmit, busy, errors } = useSubmit(async ({ domain, timezone }) => {
    setSite(await api('/api/sites', { method: 'POST', body: { domain: domain.trim(), timezone } }));
  });
  if (site) {
    return html`
      <section class="narrow">
        <h1>${site.domain} is added</h1>
        <${TrackingSnippet} domain=${site.domain} snippet=${site.tracking_snippet} />
      </section>`;
  }
  return html`
    <section class="narrow">
      <h1>Add a site</h1>
      <form onSubmit=${onSubmit} novalidate>
        <${Field} label="Domain" name="domain" placeholder="example.com" required autocomplete="off"
          hint="Without https:// or www." error=${errors.domain} />
        <${Field} label="Timezone" name="timezone" options=${timezoneOptions()} error=${errors.timezone}
          hint="Days and hours on the dashboard follow this zone." />
        <${FormErrors} errors=${errors} fields=${['domain', 'timezone']} />
        <button type="submit" disabled=${busy}>Add the site</button>
      </form>
    </section>`;
}
