// Browser tier: the web dashboard, end to end. A fresh database and the real collector, worker
// and dashboard binaries on the PostgreSQL and Redis that `scripts/plumb test` runs; Debian's
// Chromium signs up, adds a site, visits a page carrying the tracking snippet, and uses the
// dashboard: current visitor, a filter from a clicked row, a CSV export and a shared link opened
// logged out. Every number the dashboard shows is checked against the Stats API's answer to
// the same query, on the visited site and on a site holding generated history.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import {
  DEADLINE_MS,
  deleteKeys,
  launchChromium,
  startCollector,
  startService,
  startSiteServer,
  testEnvironment,
  uniquePrefix,
  waitFor,
} from './support.mjs';

const execFileAsync = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');

const SITE = 'site.test';
const GENERATED = 'generated.test';
const EMAIL = 'owner@browser.test';
const PASSWORD = 'a long browser-test password';
// The password tests/support gives the dashboard's role (scoped_database.cpp): the role is
// shared by the whole test cluster, so every tier must set the same one.
const DASHBOARD_ROLE_PASSWORD = 'plumb-dashboard-test';
// The worker drops bots, and headless Chromium says so in its user agent: visitors use a
// desktop Chrome's.
const VISITOR_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const HEADLINE = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'];

let env;
let prefix;
let database;
let services = [];
let site;
let browser;
let dashboardOrigin;

function environment() {
  const base = testEnvironment();
  if (!process.env.PLUMB_TEST_PG_DSN) {
    throw new Error('PLUMB_TEST_PG_DSN not set: run the browser tier through `scripts/plumb test browser`');
  }
  const bin = (relative) => path.join(process.env.PLUMB_TEST_BIN_DIR, relative);
  return {
    ...base,
    adminDsn: process.env.PLUMB_TEST_PG_DSN,
    dashboard: bin('services/dashboard/plumb-dashboard'),
    worker: bin('services/worker/plumb-worker'),
    plumbctl: bin('services/plumbctl/plumbctl'),
  };
}

function withDatabase(dsn, name, credentials) {
  const url = new URL(dsn);
  url.pathname = `/${name}`;
  if (credentials) {
    url.username = credentials.user;
    url.password = credentials.password;
  }
  return url.toString();
}

async function psql(dsn, sql) {
  await execFileAsync('psql', [dsn, '-v', 'ON_ERROR_STOP=1', '-qc', sql]);
}

async function plumbctl(...args) {
  const { stdout } = await execFileAsync(env.plumbctl, args, {
    env: {
      PATH: process.env.PATH,
      PLUMB_PG_DSN: withDatabase(env.adminDsn, database),
      PLUMB_REDIS_URL: env.redisUrl,
      PLUMB_REDIS_PREFIX: prefix,
    },
  });
  return stdout;
}

// A port nothing listens on now: the dashboard must know its own origin (PLUMB_DASHBOARD_URL,
// checked against Origin) before it starts, so it cannot take port 0.
async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const trackedPage = (title, snippet, body) => ({
  type: 'text/html; charset=utf-8',
  body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${snippet}</head>
<body><h1>${title}</h1>${body}</body></html>`,
});

before(async () => {
  env = environment();
  prefix = uniquePrefix();
  database = `plumb_browser_${randomBytes(5).toString('hex')}`;
  await psql(env.adminDsn, `CREATE DATABASE ${database}`);
  await plumbctl('migrate');
  await psql(env.adminDsn, `ALTER ROLE plumb_dashboard LOGIN PASSWORD '${DASHBOARD_ROLE_PASSWORD}'`);

  const collector = await startCollector({ binary: env.collector, redisUrl: env.redisUrl, prefix });
  services.push(collector);
  services.push(
    await startService({
      name: 'worker',
      binary: env.worker,
      env: {
        PLUMB_PG_DSN: withDatabase(env.adminDsn, database),
        PLUMB_REDIS_URL: env.redisUrl,
        PLUMB_REDIS_PREFIX: prefix,
        PLUMB_WORKER_NAME: 'browser-worker',
        PLUMB_WORKER_LISTEN: '127.0.0.1:0',
      },
    })
  );
  const port = await freePort();
  dashboardOrigin = `http://127.0.0.1:${port}`;
  services.push(
    await startService({
      name: 'dashboard',
      binary: env.dashboard,
      env: {
        PLUMB_PG_DSN: withDatabase(env.adminDsn, database, { user: 'plumb_dashboard', password: DASHBOARD_ROLE_PASSWORD }),
        PLUMB_REDIS_URL: env.redisUrl,
        PLUMB_REDIS_PREFIX: prefix,
        PLUMB_DASHBOARD_LISTEN: `127.0.0.1:${port}`,
        PLUMB_DASHBOARD_URL: dashboardOrigin,
        PLUMB_COLLECTOR_URL: `http://collector.test:${collector.port}`,
        PLUMB_DASHBOARD_SECRET: randomBytes(24).toString('hex'),
      },
    })
  );

  // The site's pages carry the snippet the dashboard handed out (set once the site is added).
  let snippet = '';
  site = await startSiteServer({
    routes: {
      // Another site framing a shared link (embed mode): cross-site for the dashboard's cookies.
      '/embed': () => trackedPage('Embed', '', `<iframe id="plumb" title="Stats" src="${site.embedUrl}" width="1280" height="900"></iframe>`),
      '/': () => trackedPage('Home', snippet, '<a id="pricing" href="/pricing">Pricing</a>'),
      '/pricing': () => trackedPage('Pricing', snippet, '<p>Plans and prices.</p>'),
    },
  });
  site.useSnippet = (text) => {
    snippet = text;
  };
  browser = await launchChromium(env.chromiumPath);
  await mkdir(artifacts, { recursive: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  for (const service of services.reverse()) {
    await service.stop();
  }
  if (prefix) {
    await deleteKeys(env.redisUrl, prefix);
  }
  if (database) {
    await psql(env.adminDsn, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  }
});

// The Stats API's answer, fetched by the page itself (with its session cookie).
function statsApi(page, url) {
  return page.evaluate(async (target) => {
    const response = await fetch(target);
    if (!response.ok) {
      throw new Error(`${target}: HTTP ${response.status} ${await response.text()}`);
    }
    return response.json();
  }, url);
}

// {metric: {value, text}} of the top stats row as shown.
function shownTopStats(page) {
  return page.$$eval('.top-stats .stat', (buttons) =>
    Object.fromEntries(
      buttons.map((b) => {
        const value = b.querySelector('.stat-value');
        return [b.dataset.metric, { value: Number(value.dataset.value), text: value.textContent.trim() }];
      })
    )
  );
}

// The shown top stats equal the v1 aggregate for `query` (period, filters...), and read right.
async function assertTopStatsMatchApi(page, domain, query) {
  const api = await statsApi(page, `/api/v1/stats/aggregate?site_id=${domain}&metrics=${HEADLINE.join(',')}&${query}`);
  const shown = await shownTopStats(page);
  for (const metric of HEADLINE) {
    const expected = api.results[metric].value;
    assert.equal(shown[metric].value, expected, `${metric}: shown ${shown[metric].value}, API ${expected}`);
    if (['visitors', 'visits', 'pageviews'].includes(metric)) {
      assert.equal(shown[metric].text.replaceAll(',', ''), String(expected), `${metric} as text`);
    } else if (metric === 'bounce_rate') {
      assert.equal(shown[metric].text, `${expected}%`);
    } else if (metric === 'views_per_visit') {
      assert.equal(Number(shown[metric].text), Math.round(expected * 100) / 100);
    }
  }
  return api.results;
}

// Every row a box shows equals the v1 breakdown of the same property (looked up by value:
// rows tied on visitors may be ordered either way).
async function assertBoxMatchesApi(page, domain, box, property, metrics, query) {
  const rows = await page.$$eval(`[data-box=${box}] tbody tr`, (trs) =>
    trs.map((tr) => ({
      value: tr.dataset.value,
      cells: Object.fromEntries([...tr.querySelectorAll('[data-metric]')].map((td) => [td.dataset.metric, td.textContent])),
    }))
  );
  assert.ok(rows.length > 0, `the ${box} box shows rows`);
  const api = await statsApi(
    page,
    `/api/v1/stats/breakdown?site_id=${domain}&property=${property}&metrics=${metrics.join(',')}&limit=100&${query}`
  );
  const key = property.split(':').pop();
  const byValue = new Map(api.results.map((row) => [String(row[key]), row]));
  for (const row of rows) {
    const expected = byValue.get(row.value);
    assert.ok(expected, `${box}: "${row.value}" is in the API's breakdown`);
    for (const metric of metrics) {
      assert.equal(row.cells[metric].replaceAll(',', ''), String(expected[metric]), `${box} ${row.value} ${metric}`);
    }
  }
}

async function waitForBoxRows(page, box) {
  await page.waitForSelector(`[data-box=${box}] tbody tr`, { timeout: DEADLINE_MS });
}

describe('web dashboard', () => {
  let owner;

  test('sign up, add a site, see its first pageview and current visitor, filter, export, share', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    owner = await context.newPage();
    const problems = [];
    owner.on('pageerror', (error) => problems.push(error.message));

    await owner.goto(`${dashboardOrigin}/signup`);
    await owner.getByLabel('Email').fill(EMAIL);
    await owner.getByLabel('Password').fill(PASSWORD);
    await owner.getByRole('button', { name: 'Sign up' }).click();
    await owner.waitForURL('**/sites');

    await owner.getByRole('link', { name: 'Add a site' }).click();
    await owner.getByLabel('Domain').fill(SITE);
    await owner.getByLabel('Timezone').selectOption('UTC');
    await owner.getByRole('button', { name: 'Add the site' }).click();
    const snippet = (await owner.getByTestId('snippet').textContent()).trim();
    assert.match(snippet, new RegExp(`data-domain="${SITE}"`));
    assert.match(await owner.getByTestId('first-pageview').textContent(), /Waiting/);

    // A visitor reads two pages of the site (another browser context: no dashboard cookie).
    site.useSnippet(snippet);
    const visitorContext = await browser.newContext({ userAgent: VISITOR_AGENT });
    await visitorContext.addInitScript(() => {
      window.__plumb_allow_automation = true; // the tracker's opt-in for automated browsers
    });
    const visitor = await visitorContext.newPage();
    await visitor.goto(`http://${SITE}:${site.port}/`);
    await visitor.click('#pricing');
    await visitor.waitForURL('**/pricing');

    await owner.waitForSelector('[data-testid=first-pageview].ok', { timeout: DEADLINE_MS });
    await waitFor(
      'both pageviews in the Stats API',
      () => statsApi(owner, `/api/v1/stats/aggregate?site_id=${SITE}&period=day&metrics=pageviews`),
      (answer) => answer.results.pageviews.value === 2,
      (answer) => JSON.stringify(answer)
    );

    await owner.goto(`${dashboardOrigin}/sites/${SITE}?period=day`);
    await waitForBoxRows(owner, 'pages');
    await owner.waitForFunction(() => document.querySelector('[data-testid=current-visitors]')?.textContent === '1');
    const unfiltered = await assertTopStatsMatchApi(owner, SITE, 'period=day');
    assert.equal(unfiltered.pageviews.value, 2);
    assert.equal(unfiltered.visitors.value, 1);
    await assertBoxMatchesApi(owner, SITE, 'pages', 'event:page', ['visitors', 'pageviews'], 'period=day');

    // Clicking a row filters the whole dashboard; the filter is in the URL.
    await owner.locator('[data-box=pages] tr[data-value="/pricing"] button').click();
    await owner.waitForURL((url) => new URL(url).searchParams.getAll('f').includes('event:page==/pricing'));
    await owner.waitForSelector('.chip[data-filter="event:page==/pricing"]');
    await owner.waitForFunction(() => document.querySelector('[data-metric=pageviews] .stat-value')?.dataset.value === '1');
    const filtered = await assertTopStatsMatchApi(owner, SITE, 'period=day&filters=event:page==/pricing');
    assert.equal(filtered.pageviews.value, 1);
    assert.notEqual(filtered.pageviews.value, unfiltered.pageviews.value);

    // The CSV export carries the same filter.
    const [download] = await Promise.all([owner.waitForEvent('download'), owner.getByTestId('export-csv').click()]);
    const csv = (await readFile(await download.path(), 'utf8')).trim().split(/\r?\n/);
    const header = csv[0].split(',');
    assert.equal(header[0], 'date');
    const pageviewsColumn = header.indexOf('pageviews');
    const exported = csv.slice(1).reduce((sum, line) => sum + Number(line.split(',')[pageviewsColumn]), 0);
    assert.equal(exported, 1);

    // A shared link, opened in a browser that is not signed in.
    await owner.goto(`${dashboardOrigin}/sites/${SITE}/settings`);
    const sharing = owner.locator('section[aria-labelledby=shared-links]');
    await sharing.getByLabel('Name').fill('Public');
    await sharing.getByRole('button', { name: 'Create a shared link' }).click();
    const sharedUrl = await owner.getByTestId('shared-link-url').getAttribute('href');
    assert.ok(sharedUrl.startsWith(`${dashboardOrigin}/share/`));
    const strangerContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const stranger = await strangerContext.newPage();
    await stranger.goto(`${sharedUrl}?period=day`);
    await stranger.waitForSelector('.top-stats');
    assert.equal(await stranger.locator('h1').textContent(), SITE);
    assert.equal(await stranger.locator('[data-metric=pageviews] .stat-value').getAttribute('data-value'), '2');
    assert.equal(await stranger.getByRole('link', { name: 'Log out' }).count(), 0);

    // A link with a password asks for it before showing anything.
    await sharing.getByLabel('Name').fill('Board');
    await sharing.getByLabel('Password (optional)').fill('the board password');
    await sharing.getByRole('button', { name: 'Create a shared link' }).click();
    await owner.waitForFunction(
      (first) => document.querySelector('[data-testid=shared-link-url]')?.getAttribute('href') !== first,
      sharedUrl
    );
    const protectedUrl = await owner.getByTestId('shared-link-url').getAttribute('href');
    await stranger.goto(protectedUrl);
    await stranger.getByLabel('Password').fill('a wrong password');
    await stranger.getByRole('button', { name: 'View the dashboard' }).click();
    await stranger.waitForSelector('.error[role=alert]');
    await stranger.getByLabel('Password').fill('the board password');
    await stranger.getByRole('button', { name: 'View the dashboard' }).click();
    await stranger.waitForSelector('.top-stats');
    assert.equal(await stranger.locator('h1').textContent(), SITE);
    await strangerContext.close();

    // The protected link framed by another site: no cookie reaches the frame, the unlock token does.
    site.embedUrl = `${protectedUrl}?embed=true&period=day`;
    const embedderContext = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const embedder = await embedderContext.newPage();
    embedder.on('pageerror', (error) => problems.push(error.message));
    await embedder.goto(`http://${SITE}:${site.port}/embed`);
    const frame = embedder.frameLocator('#plumb');
    await frame.getByLabel('Password').fill('the board password');
    await frame.getByRole('button', { name: 'View the dashboard' }).click();
    await frame.locator('.top-stats').waitFor({ timeout: DEADLINE_MS });
    assert.equal(await frame.locator('[data-metric=pageviews] .stat-value').getAttribute('data-value'), '2');
    await embedderContext.close();
    await visitorContext.close();
    assert.deepEqual(problems, []);
  });

  test('every number shown for generated history equals the Stats API', async () => {
    await plumbctl('site', 'create', GENERATED, '--tz', 'Europe/Berlin', '--account', EMAIL);
    const start = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    await plumbctl('gen', '--bulk', '--site', GENERATED, '--events', '4000', '--days', '30', '--start', start);

    const query = 'period=30d&compare=previous_period';
    await owner.goto(`${dashboardOrigin}/sites/${GENERATED}?${query}`);
    for (const box of ['pages', 'sources', 'locations', 'devices']) {
      await waitForBoxRows(owner, box);
    }
    const totals = await assertTopStatsMatchApi(owner, GENERATED, query);
    assert.ok(totals.visitors.value > 100, 'the generated history is on the dashboard');
    // The change shown is the API's change against the previous period.
    const change = await owner.locator('[data-metric=visitors] .change').textContent();
    assert.match(change, new RegExp(`${Math.abs(totals.visitors.change)}%`));
    await assertBoxMatchesApi(owner, GENERATED, 'pages', 'event:page', ['visitors', 'pageviews'], 'period=30d');
    await assertBoxMatchesApi(owner, GENERATED, 'sources', 'visit:channel', ['visitors'], 'period=30d');
    await assertBoxMatchesApi(owner, GENERATED, 'locations', 'visit:country', ['visitors'], 'period=30d');
    await assertBoxMatchesApi(owner, GENERATED, 'devices', 'visit:browser', ['visitors'], 'period=30d');

    // Locations has Regions and Cities tabs (the generated visitors have both); a city row filters
    // the dashboard by its value, which names the city's region ("Munich, DE-BY").
    for (const [label, property, pattern] of [['Regions', 'visit:region', '^[A-Z]{2}-'], ['Cities', 'visit:city', ', [A-Z]{2}']]) {
      await owner.locator('[data-box=locations] .tabs button', { hasText: label }).click();
      await owner.waitForFunction(
        // The tab's rows have replaced the previous tab's ("(none)" may come first).
        (re) => [...document.querySelectorAll('[data-box=locations] tbody tr')].some((tr) => new RegExp(re).test(tr.dataset.value)),
        pattern
      );
      await assertBoxMatchesApi(owner, GENERATED, 'locations', property, ['visitors'], 'period=30d');
    }
    const city = await owner.$$eval('[data-box=locations] tbody tr', (trs) => trs.map((tr) => tr.dataset.value).find((v) => v !== ''));
    await owner.locator(`[data-box=locations] tr[data-value="${city}"] button`).click();
    await owner.waitForURL((url) => new URL(url).searchParams.getAll('f').includes(`visit:city==${city}`));
    const cityQuery = `${query}&filters=${encodeURIComponent(`visit:city==${city}`)}`;
    const cityTotals = await statsApi(owner, `/api/v1/stats/aggregate?site_id=${GENERATED}&metrics=visitors&${cityQuery}`);
    assert.ok(cityTotals.results.visitors.value < totals.visitors.value, `${city} is a part of the visitors`);
    await owner.waitForFunction(
      (v) => document.querySelector('[data-metric=visitors] .stat-value')?.dataset.value === String(v),
      cityTotals.results.visitors.value
    );
    await assertTopStatsMatchApi(owner, GENERATED, cityQuery);
    await owner.goto(`${dashboardOrigin}/sites/${GENERATED}?${query}`);
    await waitForBoxRows(owner, 'pages');
    await owner.screenshot({ path: path.join(artifacts, 'dashboard-desktop.png'), fullPage: true });

    // Goals: a pageview goal with a wildcard and a custom event goal, added in the settings.
    await owner.goto(`${dashboardOrigin}/sites/${GENERATED}/settings`);
    const goals = owner.locator('section[aria-labelledby=goals]');
    await goals.getByLabel('Goal type').selectOption('page');
    await goals.getByLabel('Event name or page path').fill('/blog*');
    await goals.getByRole('button', { name: 'Add the goal' }).click();
    await goals.getByText('/blog*').waitFor();
    await goals.getByLabel('Goal type').selectOption('event');
    await goals.getByLabel('Event name or page path').fill('Purchase');
    await goals.getByRole('button', { name: 'Add the goal' }).click();
    await goals.getByText('Purchase').waitFor();
    await owner.goto(`${dashboardOrigin}/sites/${GENERATED}?period=30d`);
    await owner.waitForSelector('[data-box=goals] tr[data-value="Visit /blog*"]', { timeout: DEADLINE_MS });
    await assertBoxMatchesApi(owner, GENERATED, 'goals', 'event:goal', ['visitors', 'events'], 'period=30d');
    const goalApi = await statsApi(
      owner,
      `/api/v1/stats/breakdown?site_id=${GENERATED}&property=event:goal&metrics=conversion_rate,total_revenue&period=30d`
    );
    const blog = goalApi.results.find((row) => row.goal === 'Visit /blog*');
    assert.ok(blog.conversion_rate > 0);
    assert.equal(
      await owner.locator('[data-box=goals] tr[data-value="Visit /blog*"] [data-metric=conversion_rate]').textContent(),
      `${blog.conversion_rate}%`
    );
    // Purchases carry revenue, so the box shows the revenue column.
    const headings = await owner.locator('[data-box=goals] thead th').allTextContents();
    assert.deepEqual(headings, ['Goal', 'Uniques', 'Total', 'CR', 'Revenue']);
    // Clicking a goal filters the dashboard by it.
    const unfilteredVisitors = await owner.locator('[data-metric=visitors] .stat-value').getAttribute('data-value');
    await owner.locator('[data-box=goals] tr[data-value="Visit /blog*"] button').click();
    await owner.waitForSelector('.chip[data-filter="event:goal==Visit /blog*"]');
    await owner.waitForFunction(
      (before) => document.querySelector('[data-metric=visitors] .stat-value')?.dataset.value !== before,
      unfilteredVisitors
    );
    await assertTopStatsMatchApi(owner, GENERATED, `period=30d&filters=${encodeURIComponent('event:goal==Visit /blog*')}`);

    await owner.setViewportSize({ width: 375, height: 800 });
    await owner.reload();
    await waitForBoxRows(owner, 'pages');
    // Nothing sticks out sideways on a phone.
    const overflow = await owner.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a 375px phone`);
    await owner.screenshot({ path: path.join(artifacts, 'dashboard-phone.png'), fullPage: true });
  });
});
