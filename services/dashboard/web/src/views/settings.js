// A site's settings: general (domain, timezone, snippet), goals, shared links, team,
// exclusions, data retention, exports and deleting the site. Sections follow the caller's
// role: viewers see what they may, the server refuses the rest anyway.
import { useState } from 'preact/hooks';
import { ApiError, api, sitePath } from '../api.js';
import { Field, FormErrors, useSubmit } from '../components/form.js';
import { GoalsEditor } from '../components/goals_editor.js';
import { MembersEditor } from '../components/members_editor.js';
import { SharedLinksEditor } from '../components/shared_links_editor.js';
import { TrackingSnippet } from '../components/tracking_snippet.js';
import { html } from '../html.js';
import { navigate } from '../router.js';
import { useApi } from '../use_api.js';
import { timezoneOptions } from '../timezones.js';

const lines = (text) => text.split('\n').map((line) => line.trim()).filter(Boolean);

// A form that PATCHes the site with what `toChanges(values)` returns and reports "Saved".
function SiteForm({ site, onSaved, toChanges, children, fields }) {
  const [saved, setSaved] = useState(false);
  const { onSubmit, busy, errors } = useSubmit(async (values) => {
    setSaved(false);
    onSaved(await api(sitePath(site.domain), { method: 'PATCH', body: toChanges(values) }));
    setSaved(true);
  });
  return html`
    <form onSubmit=${onSubmit} novalidate>
      ${children(errors)}
      <${FormErrors} errors=${errors} fields=${fields} />
      <button type="submit" disabled=${busy}>Save</button>
      ${saved && html`<span role="status" class="saved">Saved</span>`}
    </form>`;
}

function General({ site, onSaved }) {
  const zones = timezoneOptions();
  const options = zones.some((z) => z.value === site.timezone) ? zones : [{ value: site.timezone, label: site.timezone }, ...zones];
  return html`<${SiteForm} site=${site} onSaved=${onSaved} fields=${['domain', 'timezone']}
      toChanges=${({ domain, timezone }) => ({ domain: domain.trim(), timezone })}>
    ${(errors) => html`
      <${Field} label="Domain" name="domain" value=${site.domain} required error=${errors.domain}
        hint="Renaming keeps the data; update data-domain in the snippet too." />
      <${Field} label="Timezone" name="timezone" value=${site.timezone} options=${options} error=${errors.timezone} />`}
  </${SiteForm}>`;
}

function Exclusions({ site, onSaved }) {
  return html`<${SiteForm} site=${site} onSaved=${onSaved}
      fields=${['excluded_ip_ranges', 'allowed_hostnames', 'ignore_do_not_track']}
      toChanges=${(v) => ({
        excluded_ip_ranges: lines(v.excluded_ip_ranges),
        allowed_hostnames: lines(v.allowed_hostnames),
        ignore_do_not_track: v.ignore_do_not_track === 'on',
      })}>
    ${(errors) => html`
      <div class="field">
        <label for="excluded-ips">Excluded IP ranges</label>
        <textarea id="excluded-ips" name="excluded_ip_ranges" rows="3" placeholder="203.0.113.0/24"
          aria-invalid=${errors.excluded_ip_ranges ? 'true' : undefined} value=${site.excluded_ip_ranges.join('\n')}></textarea>
        <small class="hint">One CIDR range per line; hits from them are not counted.</small>
        ${errors.excluded_ip_ranges && html`<small class="error" role="alert">${errors.excluded_ip_ranges}</small>`}
      </div>
      <div class="field">
        <label for="allowed-hosts">Allowed hostnames</label>
        <textarea id="allowed-hosts" name="allowed_hostnames" rows="3" placeholder="*.example.com"
          aria-invalid=${errors.allowed_hostnames ? 'true' : undefined} value=${site.allowed_hostnames.join('\n')}></textarea>
        <small class="hint">One per line; empty counts every hostname.</small>
        ${errors.allowed_hostnames && html`<small class="error" role="alert">${errors.allowed_hostnames}</small>`}
      </div>
      <label class="check">
        <input type="checkbox" name="ignore_do_not_track" checked=${site.ignore_do_not_track} />
        Do not count browsers that send Do Not Track or Global Privacy Control
      </label>`}
  </${SiteForm}>`;
}

function Retention({ site, onSaved }) {
  return html`<${SiteForm} site=${site} onSaved=${onSaved} fields=${['retention_days']}
      toChanges=${({ retention_days: days }) => ({ retention_days: days.trim() === '' ? null : Number(days) })}>
    ${(errors) => html`
      <${Field} label="Keep data for (days)" name="retention_days" type="number" min="30" max="36500"
        value=${site.retention_days ?? ''} error=${errors.retention_days}
        hint="30 to 36,500 days; empty keeps everything." />`}
  </${SiteForm}>`;
}

function DeleteSite({ site }) {
  const { onSubmit, busy, errors } = useSubmit(async ({ confirm }) => {
    if (confirm.trim() !== site.domain) {
      throw new ApiError(400, { confirm: `type ${site.domain} to confirm` });
    }
    await api(sitePath(site.domain), { method: 'DELETE' });
    navigate('/sites', { replace: true });
  });
  return html`
    <form onSubmit=${onSubmit} novalidate>
      <p>Deletes the site and every event stored for it. This cannot be undone.</p>
      <${Field} label=${`Type ${site.domain} to confirm`} name="confirm" autocomplete="off" error=${errors.confirm} />
      <${FormErrors} errors=${errors} fields=${['confirm']} />
      <button type="submit" class="danger" disabled=${busy}>Delete the site and its data</button>
    </form>`;
}

function Section({ id, title, children }) {
  return html`<section class="settings-section" aria-labelledby=${id}><h2 id=${id}>${title}</h2>${children}</section>`;
}

export function SettingsView({ domain }) {
  const loaded = useApi(sitePath(domain));
  const [updated, setUpdated] = useState(null);
  const site = updated?.domain === domain ? updated : loaded.data;
  const onSaved = (next) => {
    setUpdated(next);
    if (next.domain !== domain) {
      navigate(`/sites/${encodeURIComponent(next.domain)}/settings`, { replace: true });
    }
  };
  if (loaded.error) {
    return html`<p role="alert" class="error">${loaded.error.message}</p>`;
  }
  if (!site) {
    return html`<p class="loading" aria-live="polite">Loading…</p>`;
  }
  const admin = site.role !== 'viewer';
  const path = encodeURIComponent(site.domain);
  return html`
    <div class="settings">
      <div class="heading-row">
        <h1>Settings of ${site.domain}</h1>
        <a class="button secondary" href=${`/sites/${path}`}>Dashboard</a>
      </div>
      <${Section} id="general" title="General">
        ${admin ? html`<${General} site=${site} onSaved=${onSaved} />` : html`<p>Timezone: ${site.timezone}</p>`}
        <${TrackingSnippet} domain=${site.domain} snippet=${site.tracking_snippet} />
      </${Section}>
      <${Section} id="goals" title="Goals"><${GoalsEditor} domain=${site.domain} /></${Section}>
      ${admin && html`<${Section} id="shared-links" title="Shared links"><${SharedLinksEditor} domain=${site.domain} /></${Section}>`}
      <${Section} id="team" title="Team"><${MembersEditor} domain=${site.domain} myRole=${site.role} /></${Section}>
      <${Section} id="api" title="API keys">
        <p>API keys belong to your account and reach every site you are a member of:${' '}
          <a href="/account#api-keys">manage them on your account page</a>.</p>
      </${Section}>
      ${admin && html`<${Section} id="exclusions" title="Exclusions"><${Exclusions} site=${site} onSaved=${onSaved} /></${Section}>`}
      ${admin && html`<${Section} id="retention" title="Data retention"><${Retention} site=${site} onSaved=${onSaved} /></${Section}>`}
      <${Section} id="export" title="Export">
        <p><a href=${`/api/stats/${path}/events.csv`} download>Every stored event (CSV)</a>${' · '}
          <a href=${`/api/stats/${path}/export.csv?view=timeseries&period=all&interval=month&metrics=visitors,visits,pageviews,bounce_rate,visit_duration`}
            download>Monthly totals since the start (CSV)</a></p>
      </${Section}>
      ${site.role === 'owner' && html`<${Section} id="danger" title="Delete the site"><${DeleteSite} site=${site} /></${Section}>`}
    </div>`;
}
