/*
 * Plumb tracker: counts pageviews and custom events without cookies or any storage.
 *
 * Readable source. The build minifies it with terser, gzips it with `gzip -9 -n` and fails when
 * the result exceeds 1,024 bytes (tracker/build.cmake); the collector serves it at
 * /js/script.js. Attributes, the window.plumb() API and what is ignored: tracker/README.md.
 *
 * Language floor: ES2020 (optional chaining), i.e. every browser since 2020. The script needs
 * URL, sendBeacon or fetch anyway, and the modern syntax is what keeps it inside its budget.
 * It must never throw into the page that embeds it.
 */
(() => {
  const win = window;
  const doc = document;
  const loc = location;
  const nav = navigator;

  // The <script> tag that loaded us carries the configuration. (currentScript is set for every
  // classic script, including ones a tag manager inserts.)
  const script = doc.currentScript;
  const attr = (name) => script.getAttribute('data-' + name);

  // Hits go to the collector that served the script unless data-api says otherwise (e.g. a
  // proxy path on the site's own domain, which blocklists keyed on our host do not match).
  // Resolving the absolute path against the script's URL keeps just its origin.
  const api = attr('api') || new URL('/api/event', script.src).href;
  const domain = attr('domain') || loc.hostname;
  const hashMode = attr('hash') != null;
  const outbound = attr('outbound') != null;
  const downloads = attr('downloads');
  // data-downloads="pdf,zip" replaces the default extensions (Plausible's list); a bare
  // data-downloads keeps them. Every run of non-word characters (commas, spaces, dots) becomes
  // one '|', so no attribute value can make an invalid (throwing) regular expression.
  const downloadPattern =
    downloads != null &&
    RegExp(
      '\\.(' +
        (downloads || 'pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg').replace(
          /\W+/g,
          '|'
        ) +
        ')$',
      'i'
    );

  // Why the current hit must not be sent, or undefined when it may be.
  const ignoreReason = () => {
    // A developer's local copy of a site would pollute the real site's numbers. (The browser
    // normalises hostnames, so 127.0.0.1 always has four parts and IPv6 comes bracketed.)
    if (/^(localhost|127(\.\d+){3}|\[::1\])$/.test(loc.hostname) || loc.protocol == 'file:') {
      return 'localhost';
    }
    // Automated browsers (monitoring, scrapers, test suites) are not visitors: Plausible's check,
    // minus PhantomJS and Nightmare, which are long dead. Tests that want hits from an automated
    // browser set window.__plumb_allow_automation = true before the script runs.
    if ((nav.webdriver || win.Cypress) && !win.__plumb_allow_automation) {
      return 'automation';
    }
    // Site owners exclude their own visits with localStorage.plumb_ignore = "true". Reading
    // localStorage throws where storage is blocked (sandboxed frames, some privacy settings).
    try {
      if (localStorage.plumb_ignore == 'true') {
        return 'plumb_ignore';
      }
    } catch (e) {}
  };

  // Sends one event; options: {props, revenue, interactive, callback}, all optional.
  const track = (name, options = {}) => {
    const reason = ignoreReason();
    if (reason) {
      console.warn('Plumb ignored ' + name + ': ' + reason);
    } else {
      // JSON.stringify leaves out the undefined members, so absent options cost no bytes.
      const body = JSON.stringify({
        n: name,
        u: loc.href,
        d: domain,
        r: doc.referrer || null,
        w: win.innerWidth,
        h: hashMode ? 1 : undefined,
        p: options.props,
        $: options.revenue,
        i: options.interactive, // the collector wants a boolean; false = no effect on bounces
      });
      // A beacon outlives the page, so a click that navigates away is still counted and links
      // never need to be held back. A string body goes out as text/plain, a CORS "simple
      // request": no preflight round trip. When the browser refuses to queue a beacon, a
      // keepalive fetch (which outlives the page too); its failure must not surface as an
      // unhandled rejection in the site's error monitoring.
      if (!nav.sendBeacon?.(api, body)) {
        fetch(api, { method: 'POST', body, keepalive: true }).catch(() => {});
      }
    }
    // Called whether or not the hit was sent, so that code waiting on it (e.g. to navigate)
    // never hangs for ignored visitors. The request is already with the browser and survives
    // navigation: there is nothing left to wait for.
    options.callback?.();
  };

  // One pageview per distinct page. The query string is not part of the page (as in
  // Plausible), so replaceState to the same page, or one that only changes the query or the
  // state object, sends nothing. In hash mode the fragment is part of the page.
  let lastPage;
  const page = () => {
    const current = loc.pathname + (hashMode ? loc.hash : '');
    if (current != lastPage) {
      lastPage = current;
      track('pageview');
    }
  };

  // SPA routers navigate with the History API, which fires no event of its own.
  for (const method of ['pushState', 'replaceState']) {
    const original = history[method];
    history[method] = function () {
      const result = original.apply(this, arguments);
      page();
      return result;
    };
  }
  addEventListener('popstate', page);
  if (hashMode) {
    addEventListener('hashchange', page);
  }

  // Outbound links and file downloads. No preventDefault: the beacon survives the navigation,
  // so links behave exactly as they would without the tracker.
  const onLinkClick = (event) => {
    // `click` has button 0 (mouse or keyboard), a middle click is `auxclick` with button 1;
    // the right button (2) opens a menu, not the link. Synthetic events may target the document,
    // which has no closest().
    const link = event.target.closest?.('a[href]');
    if (!link || event.button > 1) {
      return;
    }
    // The protocol test also skips SVG links, whose href is not a string.
    if (outbound && link.host != loc.host && /^https?:$/.test(link.protocol)) {
      track('Outbound Link: Click', { props: { url: link.href } });
    } else if (downloadPattern && downloadPattern.test(link.pathname)) {
      track('File Download', { props: { url: link.href.split(/[?#]/)[0] } });
    }
  };
  if (outbound || downloadPattern) {
    for (const type of ['click', 'auxclick']) {
      doc.addEventListener(type, onLinkClick);
    }
  }

  // Calls made before the script loaded were queued by the snippet
  //   window.plumb = window.plumb || function () { (window.plumb.q = window.plumb.q || []).push(arguments) }
  // and are sent after this page's pageview, in order.
  const queue = win.plumb?.q || [];
  win.plumb = track;
  const start = () => {
    page();
    for (const args of queue) {
      track(...args);
    }
  };
  // A prerendered page (speculation rules) may never be shown: count it when it is.
  if (doc.prerendering) {
    doc.addEventListener('prerenderingchange', start);
  } else {
    start();
  }
})();
