// Browser tier: Debian's Chromium loads test pages from http://site.test:<port>/ that embed our
// tracker (served by the real collector at http://collector.test:<port>/js/script.js) or the
// official plausible-tracker npm package, and every assertion about a hit reads the Redis stream
// the collector appended it to. Run by `scripts/plumb test browser` (CTest label `browser`).

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  DEADLINE_MS,
  deleteKeys,
  launchChromium,
  redisCli,
  startCollector,
  startSiteServer,
  streamEntries,
  testEnvironment,
  uniquePrefix,
  waitFor,
} from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, 'artifacts');
// plausible-tracker's ES module build (build/module), served to the page as it ships.
const plausibleModule = path.join(
  path.dirname(createRequire(import.meta.url).resolve('plausible-tracker/package.json')),
  'build/module'
);

const SITE = 'site.test';
// A second name for the script (PLUMB_TRACKER_ALIAS), which ad blockers' lists do not know.
const ALIAS = 'pl-stats';
const SITE_ID = '1';

let env;
let prefix;
let collector;
let site;
let browser;

// Origins as the browser sees them; both hosts resolve to 127.0.0.1 (--host-resolver-rules).
const siteOrigin = () => `http://${SITE}:${site.port}`;
const collectorOrigin = () => `http://collector.test:${collector.port}`;

function html(title, head, body) {
  return {
    type: 'text/html; charset=utf-8',
    body: `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>body { font: 16px/1.5 sans-serif; margin: 2rem; } a { display: block; margin: .5rem 0; }</style>
${head}
</head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>
`,
  };
}

// The tag a customer pastes, plus optional attributes.
const trackerTag = (attributes = '') =>
  `<script defer data-domain="${SITE}" ${attributes} src="${collectorOrigin()}/js/script.js"></script>`;

// The snippet from tracker/README.md that queues calls made before the tracker has loaded.
const queueSnippet = `<script>
  window.plumb = window.plumb || function () { (window.plumb.q = window.plumb.q || []).push(arguments) };
  plumb('Queued', { props: { early: 'yes' } });
</script>`;

const pages = {
  '/page-a': () =>
    html(
      'Page A: the Plumb tracker',
      queueSnippet + trackerTag(),
      '<p>This page loads <code>/js/script.js</code> from the collector, as a customer site does.</p>'
    ),
  '/spa/start': () => html('Single-page app', trackerTag(), '<p>Navigates with the History API.</p>'),
  '/links': () =>
    html(
      'Outbound links and downloads',
      trackerTag('data-outbound data-downloads'),
      `<a id="outbound" href="http://elsewhere.test:${site.port}/landing">Another site</a>
<a id="download" href="/files/report.pdf?v=2#top">Annual report (PDF)</a>
<a id="internal" href="/page-a">Page A (same site)</a>`
    ),
  '/hash-app': () => html('Hash routing', trackerTag('data-hash'), '<p>Routes live in the fragment.</p>'),
  '/page-b': () =>
    html(
      'Page B: plausible-tracker',
      `<script type="module">
  import Plausible from '/plausible-tracker/index.js';
  const { trackPageview, trackEvent } = Plausible({ domain: '${SITE}', apiHost: '${collectorOrigin()}' });
  trackPageview();
  trackEvent('Purchase', { props: { x: '1' } });
  window.plausibleDone = true;
</script>`,
      '<p>The official plausible-tracker package, unchanged, against our collector.</p>'
    ),
};

// Runs in every page before its scripts: records each beacon the page sends (and still sends
// it), so tests can check synchronously what the tracker did. `allowAutomation` is the
// tracker's opt-in for automated browsers (tracker/README.md); `withoutBeacon` removes
// sendBeacon, as in browsers that lack it, and records fetch() calls instead.
function instrumentPage({ allowAutomation, ignoreFlag, withoutBeacon }) {
  if (allowAutomation) {
    window.__plumb_allow_automation = true;
  }
  if (ignoreFlag) {
    localStorage.plumb_ignore = 'true';
  }
  window.beacons = [];
  window.fetches = [];
  if (withoutBeacon) {
    navigator.sendBeacon = undefined;
    const fetch = window.fetch.bind(window);
    window.fetch = (url, init) => {
      window.fetches.push({ url: String(url), method: init?.method, keepalive: init?.keepalive });
      return fetch(url, init);
    };
    return;
  }
  const send = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, body) => {
    window.beacons.push({ url: String(url), body: JSON.parse(String(body)) });
    return send(url, body);
  };
}

async function newPage({ allowAutomation = true, ignoreFlag = false, withoutBeacon = false } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(instrumentPage, { allowAutomation, ignoreFlag, withoutBeacon });
  const page = await context.newPage();
  // What the page logged and what went wrong on the wire: shown when a wait times out.
  const log = [];
  const responses = new Map();
  // Rejected as soon as the tracker script fails to load, so tests fail at once with the reason
  // instead of waiting for a tracker that will never run.
  let scriptFailed;
  const scriptProblem = new Promise((resolve, reject) => {
    scriptFailed = reject;
  });
  scriptProblem.catch(() => {}); // only awaited by trackerLoaded()
  const isScript = (url) => url === `${collectorOrigin()}/js/script.js`;
  page.on('console', (message) => log.push(message.text()));
  page.on('pageerror', (error) => log.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    const line = `request failed: ${request.url()} ${request.failure()?.errorText}`;
    log.push(line);
    if (isScript(request.url())) {
      scriptFailed(new Error(`${line} (is GET /js/script.js routed in the collector? add_tracker_routes())`));
    }
  });
  page.on('response', (response) => {
    responses.set(response.url(), response);
    if (response.status() >= 400) {
      log.push(`HTTP ${response.status()} for ${response.url()}`);
      if (isScript(response.url())) {
        scriptFailed(new Error(`GET /js/script.js answered HTTP ${response.status()}`));
      }
    }
  });
  return { context, page, log, responses, scriptProblem };
}

// Waits until `condition` holds in the page; on timeout, the failure shows the page's log.
async function pageCondition({ page, log }, what, condition) {
  try {
    await page.waitForFunction(condition, null, { timeout: DEADLINE_MS });
  } catch (error) {
    throw new Error(`${what} on ${page.url()}: ${error.message}\npage log:\n${log.join('\n')}`);
  }
}

// The tracker has run once window.plumb is its function rather than the queueing stub.
const trackerLoaded = (tab) =>
  Promise.race([
    pageCondition(tab, 'the tracker did not run', () => typeof window.plumb === 'function' && !('q' in window.plumb)),
    tab.scriptProblem,
  ]);

const beacons = (page) => page.evaluate(() => window.beacons);

function describeStream(entries) {
  const lines = entries.map(
    ({ fields: f }) => `  n=${f.n} u=${f.u}${f.p ? ` p=${f.p}` : ''}${f.h ? ` h=${f.h}` : ''}`
  );
  return (
    `stream ${prefix}events holds ${entries.length} entries:\n${lines.join('\n')}\n` +
    `collector log (last lines):\n${collector.recentLog()}`
  );
}

// Waits until the stream holds an entry whose fields satisfy `match`; returns its fields.
async function waitForEvent(what, match) {
  const entry = await waitFor(
    what,
    () => streamEntries(env.redisUrl, `${prefix}events`),
    (entries) => entries.find(({ fields }) => match(fields)),
    describeStream
  );
  return entry.fields;
}

async function countEvents(match) {
  const entries = await streamEntries(env.redisUrl, `${prefix}events`);
  return entries.filter(({ fields }) => match(fields)).length;
}

before(async () => {
  env = testEnvironment();
  prefix = uniquePrefix();
  // The collector accepts hits only for registered sites; it reads the site map from Redis
  // (published by plumbctl in production), so no PostgreSQL is needed here.
  await redisCli(env.redisUrl, 'HSET', `${prefix}sites`, SITE, JSON.stringify({ id: Number(SITE_ID), tz: 'UTC' }));
  collector = await startCollector({
    binary: env.collector,
    redisUrl: env.redisUrl,
    prefix,
    extraEnv: { PLUMB_TRACKER_ALIAS: ALIAS },
  });
  site = await startSiteServer({
    routes: pages,
    staticDirs: { '/plausible-tracker/': plausibleModule },
    // Link targets (another site's landing page, the PDF): any page will do.
    fallback: (req, url) => html(`Landed on ${url.pathname}`, '', ''),
  });
  browser = await launchChromium(env.chromiumPath);
  await mkdir(artifacts, { recursive: true });
});

after(async () => {
  const problems = [];
  const attempt = async (what, step) => {
    try {
      await step();
    } catch (error) {
      problems.push(`${what}: ${error.message}`);
    }
  };
  if (browser) await attempt('closing Chromium', () => browser.close());
  if (site) await attempt('closing the page server', () => site.close());
  if (collector) await attempt('stopping the collector', () => collector.stop());
  if (prefix && env) await attempt('deleting test keys', () => deleteKeys(env.redisUrl, prefix));
  if (problems.length > 0) {
    throw new Error(`cleanup failed:\n${problems.join('\n')}`);
  }
});

describe('Plumb tracker in Chromium', () => {
  test('the collector serves the tracker at /js/script.js and at its alias', async () => {
    const response = await fetch(`http://127.0.0.1:${collector.port}/js/script.js`);
    const body = await response.text();
    assert.equal(
      response.status,
      200,
      `GET /js/script.js answered ${response.status} ${body.slice(0, 200)}: the collector must register ` +
        'add_tracker_routes() (services/collector/tracker_routes.hpp)'
    );
    assert.equal(response.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(body, /\/api\/event/);

    const aliased = await fetch(`http://127.0.0.1:${collector.port}/js/${ALIAS}.js`);
    assert.equal(aliased.status, 200, `GET /js/${ALIAS}.js (PLUMB_TRACKER_ALIAS=${ALIAS})`);
    assert.equal(await aliased.text(), body);
  });

  test('counts a pageview of page A with its URL and width, and saves a screenshot', async () => {
    const tab = await newPage();
    const { context, page, log } = tab;
    try {
      await page.goto(`${siteOrigin()}/page-a`);
      await trackerLoaded(tab);
      const response = tab.responses.get(`${collectorOrigin()}/js/script.js`);
      assert.ok(response, 'the page loaded the script from the collector');
      assert.equal(response.status(), 200);
      const headers = response.headers();
      assert.equal(headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(headers['content-encoding'], 'gzip', 'Chromium accepts gzip, so the script comes gzipped');
      assert.match(headers.etag, /^"[0-9a-f]{64}"$/);
      assert.equal(headers['cache-control'], 'public, max-age=86400, stale-while-revalidate=604800');
      assert.equal(headers.vary, 'Accept-Encoding');

      const url = `${siteOrigin()}/page-a`;
      const hit = await waitForEvent(`a pageview of ${url}`, (f) => f.n === 'pageview' && f.u === url);
      assert.equal(hit.site, SITE_ID);
      assert.ok(Number(hit.w) > 0, `w (screen width) should be positive, got ${hit.w}`);
      assert.equal(hit.h, undefined, 'no hash mode on page A');
      assert.equal(hit.r, undefined, 'a direct visit has no referrer');
      assert.match(hit.ua, /Chrome/);
      assert.match(hit.vh, /^[0-9a-f]+$/);
      assert.deepEqual(
        log.filter((line) => /Plumb|error/i.test(line)),
        [],
        'the tracker neither warns nor throws on page A'
      );

      // The screenshot shows what the tracker sent, for a person looking at the artifact.
      await page.evaluate(() => {
        const list = document.createElement('ol');
        for (const { body } of window.beacons) {
          list.append(Object.assign(document.createElement('li'), { textContent: JSON.stringify(body) }));
        }
        document.body.append(Object.assign(document.createElement('h2'), { textContent: 'Hits sent' }), list);
      });
      await page.screenshot({ path: path.join(artifacts, 'page-a.png'), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test('delivers a call queued before the script loaded', async () => {
    const tab = await newPage();
    const { context, page } = tab;
    try {
      await page.goto(`${siteOrigin()}/page-a`);
      await trackerLoaded(tab);
      const hit = await waitForEvent('the queued "Queued" event', (f) => f.n === 'Queued');
      assert.equal(hit.u, `${siteOrigin()}/page-a`);
      assert.equal(hit.p, '{"early":"yes"}');
      // Replayed after the page's own pageview.
      const sent = await beacons(page);
      assert.deepEqual(
        sent.map((b) => b.body.n),
        ['pageview', 'Queued']
      );
    } finally {
      await context.close();
    }
  });

  test('SPA navigation: pushState and popstate send pageviews, replaceState to the same page does not', async () => {
    const tab = await newPage();
    const { context, page } = tab;
    try {
      await page.goto(`${siteOrigin()}/spa/start`);
      await trackerLoaded(tab);
      // Synchronous in the page: every beacon the History API calls cause is already recorded.
      const counts = await page.evaluate(() => {
        const before = window.beacons.length;
        history.pushState({ step: 2 }, '', '/spa/step-2');
        const afterPush = window.beacons.length;
        history.replaceState({ step: 2, edited: true }, '', '/spa/step-2');
        const afterReplaceSame = window.beacons.length;
        history.replaceState({}, '', '/spa/step-2?tab=details');
        const afterQueryOnly = window.beacons.length;
        return { before, afterPush, afterReplaceSame, afterQueryOnly };
      });
      assert.deepEqual(counts, { before: 1, afterPush: 2, afterReplaceSame: 2, afterQueryOnly: 2 });
      // Back to /spa/start: popstate arrives asynchronously.
      await page.evaluate(() => history.back());
      await page.waitForFunction(() => window.beacons.length === 3);
      const sent = await beacons(page);
      assert.deepEqual(
        sent.map((b) => [b.body.n, b.body.u]),
        [
          ['pageview', `${siteOrigin()}/spa/start`],
          ['pageview', `${siteOrigin()}/spa/step-2`],
          ['pageview', `${siteOrigin()}/spa/start`],
        ]
      );

      const step2 = `${siteOrigin()}/spa/step-2`;
      await waitForEvent(`a pageview of ${step2}`, (f) => f.n === 'pageview' && f.u === step2);
      const start = `${siteOrigin()}/spa/start`;
      await waitFor(
        `two pageviews of ${start} (load, then history.back())`,
        () => countEvents((f) => f.n === 'pageview' && f.u === start),
        (n) => n === 2,
        (n) => `saw ${n}`
      );
      assert.equal(
        await countEvents((f) => f.n === 'pageview' && f.u.startsWith(step2)),
        1,
        'exactly one pageview of /spa/step-2 reached the stream'
      );
    } finally {
      await context.close();
    }
  });

  test('window.plumb sends custom events with props, revenue and interactive=false', async () => {
    const tab = await newPage();
    const { context, page } = tab;
    try {
      await page.goto(`${siteOrigin()}/page-a`);
      await trackerLoaded(tab);
      const callback = await page.evaluate(
        () =>
          new Promise((resolve) => {
            window.plumb('Signup', {
              props: { plan: 'pro' },
              revenue: { currency: 'EUR', amount: '29' },
              callback: () => resolve('called'),
            });
          })
      );
      assert.equal(callback, 'called');
      await page.evaluate(() => window.plumb('Scrolled', { interactive: false }));

      const signup = await waitForEvent('the "Signup" event', (f) => f.n === 'Signup');
      assert.equal(signup.u, `${siteOrigin()}/page-a`);
      assert.equal(signup.p, '{"plan":"pro"}');
      assert.equal(signup.rc, 'EUR');
      assert.equal(signup.ra, '29');
      assert.equal(signup.i, undefined, 'custom events are interactive by default');

      const scrolled = await waitForEvent('the non-interactive "Scrolled" event', (f) => f.n === 'Scrolled');
      assert.equal(scrolled.i, '0');
    } finally {
      await context.close();
    }
  });

  test('data-outbound and data-downloads track link clicks that navigate away', async () => {
    const tab = await newPage();
    const { context, page } = tab;
    try {
      await page.goto(`${siteOrigin()}/links`);
      await trackerLoaded(tab);
      // A same-site link is neither outbound nor a download. (Kept on the page, so the check
      // is synchronous.)
      const internal = await page.evaluate(() => {
        const link = document.getElementById('internal');
        link.addEventListener('click', (event) => event.preventDefault());
        const before = window.beacons.length;
        link.click();
        return window.beacons.length - before;
      });
      assert.equal(internal, 0, 'clicking a same-site link sends nothing');

      await Promise.all([page.waitForURL(`http://elsewhere.test:${site.port}/landing`), page.click('#outbound')]);
      const outbound = await waitForEvent('an "Outbound Link: Click" event', (f) => f.n === 'Outbound Link: Click');
      assert.equal(outbound.p, JSON.stringify({ url: `http://elsewhere.test:${site.port}/landing` }));
      assert.equal(outbound.u, `${siteOrigin()}/links`);

      await page.goto(`${siteOrigin()}/links`);
      await trackerLoaded(tab);
      await Promise.all([page.waitForURL(/\/files\/report\.pdf/), page.click('#download')]);
      const download = await waitForEvent('a "File Download" event', (f) => f.n === 'File Download');
      // Query and fragment are not part of the file.
      assert.equal(download.p, JSON.stringify({ url: `${siteOrigin()}/files/report.pdf` }));
    } finally {
      await context.close();
    }
  });

  test('falls back to a keepalive fetch where sendBeacon is missing', async () => {
    const tab = await newPage({ withoutBeacon: true });
    const { context, page } = tab;
    try {
      await page.goto(`${siteOrigin()}/spa/start?fetch`);
      await trackerLoaded(tab);
      await page.evaluate(() => window.plumb('Fetched'));
      const fetches = await page.evaluate(() => window.fetches);
      assert.deepEqual(
        fetches.map((f) => [f.url, f.method, f.keepalive]),
        [
          [`${collectorOrigin()}/api/event`, 'POST', true],
          [`${collectorOrigin()}/api/event`, 'POST', true],
        ]
      );
      const hit = await waitForEvent('the "Fetched" event sent with fetch()', (f) => f.n === 'Fetched');
      assert.equal(hit.u, `${siteOrigin()}/spa/start?fetch`);
    } finally {
      await context.close();
    }
  });

  test('data-hash counts fragment routes as pages and marks hits h=1', async () => {
    const tab = await newPage();
    const { context, page } = tab;
    try {
      await page.goto(`${siteOrigin()}/hash-app`);
      await trackerLoaded(tab);
      const first = await waitForEvent('the hash-mode pageview', (f) => f.u === `${siteOrigin()}/hash-app`);
      assert.equal(first.h, '1');
      await page.evaluate(() => {
        location.hash = '#/settings';
      });
      const routed = `${siteOrigin()}/hash-app#/settings`;
      const second = await waitForEvent(`a pageview of ${routed}`, (f) => f.n === 'pageview' && f.u === routed);
      assert.equal(second.h, '1');
    } finally {
      await context.close();
    }
  });

  for (const { name, origin, options, reason } of [
    {
      name: 'an automated browser without the opt-in',
      origin: () => siteOrigin(),
      options: { allowAutomation: false },
      reason: 'automation',
    },
    { name: 'localhost', origin: () => `http://127.0.0.1:${site.port}`, options: {}, reason: 'localhost' },
    {
      name: 'localStorage.plumb_ignore = "true"',
      origin: () => siteOrigin(),
      options: { ignoreFlag: true },
      reason: 'plumb_ignore',
    },
  ]) {
    test(`sends nothing for ${name}, and says why in the console`, async () => {
      const tab = await newPage(options);
      const { context, page, log } = tab;
      try {
        await page.goto(`${origin()}/page-a`);
        await trackerLoaded(tab);
        const callback = await page.evaluate(
          () => new Promise((resolve) => window.plumb('Ignored', { callback: () => resolve('called') }))
        );
        assert.equal(callback, 'called', 'callbacks run even when the hit is ignored');
        assert.deepEqual(await beacons(page), []);
        assert.ok(
          log.some((line) => line.includes(`Plumb ignored pageview: ${reason}`)),
          `expected a console warning naming "${reason}", got:\n${log.join('\n')}`
        );
      } finally {
        await context.close();
      }
    });
  }
});

describe('plausible-tracker (npm, unchanged) in Chromium', () => {
  test('trackPageview and trackEvent reach our collector', async () => {
    const tab = await newPage();
    const { context, page, log } = tab;
    try {
      await page.goto(`${siteOrigin()}/page-b`);
      await pageCondition(tab, 'plausible-tracker did not run', () => window.plausibleDone === true);
      const url = `${siteOrigin()}/page-b`;
      const pageview = await waitForEvent(
        `plausible-tracker's pageview of ${url}`,
        (f) => f.n === 'pageview' && f.u === url
      );
      assert.equal(pageview.site, SITE_ID);
      assert.ok(Number(pageview.w) > 0, `w should be positive, got ${pageview.w}`);
      const purchase = await waitForEvent("plausible-tracker's Purchase event", (f) => f.n === 'Purchase');
      assert.equal(purchase.u, url);
      assert.equal(purchase.p, '{"x":"1"}');
      assert.deepEqual(
        log.filter((line) => /error|cors/i.test(line)),
        [],
        'no CORS or script errors in the console'
      );
    } finally {
      await context.close();
    }
  });
});
