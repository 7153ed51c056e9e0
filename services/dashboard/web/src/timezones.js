// The timezone choices of the site forms: every IANA zone the browser knows, its own first.
export function timezoneOptions() {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const all = Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : ['UTC'];
  const zones = [own, ...all.filter((zone) => zone !== own)];
  if (!zones.includes('UTC')) {
    zones.push('UTC');
  }
  return zones.map((zone) => ({ value: zone, label: zone.replaceAll('_', ' ') }));
}
