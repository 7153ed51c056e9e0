// Test support for the browser tier: the environment `scripts/plumb test` provides, redis-cli,
// the real collector binary, a web server for test pages, and Debian's Chromium.
//
// Nothing is mocked: pages load in a real browser, hits go over HTTP to the real collector, and
// assertions read what the collector appended to the real Redis stream.

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const execFileAsync = promisify(execFile);

// How long anything the tests wait for may take: the collector's start, a hit's way into the
// stream. Generous for a loaded 2-core CI machine; a pass never depends on it being fast.
export const DEADLINE_MS = 20_000;
const POLL_MS = 100;

// The variables `scripts/plumb test` exports; missing ones fail the tier with a clear message
// rather than skipping it (README: integration tiers fail without their servers).
export function testEnvironment() {
  const missing = ['PLUMB_TEST_REDIS_URL', 'PLUMB_TEST_BIN_DIR'].filter((name) => !process.env[name]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(' and ')} not set: run the browser tier through \`scripts/plumb test browser\` ` +
        '(or export them as README.md describes)'
    );
  }
  const collector = path.join(process.env.PLUMB_TEST_BIN_DIR, 'services/collector/plumb-collector');
  if (!existsSync(collector)) {
    throw new Error(`no collector binary at ${collector}: build it first`);
  }
  const chromiumPath = process.env.PLUMB_TEST_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: install Debian's chromium package`);
  }
  return { redisUrl: process.env.PLUMB_TEST_REDIS_URL, collector, chromiumPath };
}

// A key prefix of our own, so parallel runs and other tiers never see our keys.
export function uniquePrefix() {
  return `browser:${randomBytes(6).toString('hex')}:`;
}

// Runs redis-cli against `redisUrl` and returns its standard output. The password travels in
// REDISCLI_AUTH: Debian's redis-cli 7.0 mis-parses redis://:password@ URLs (and a password on
// the command line would show in `ps`).
async function runRedisCli(redisUrl, args) {
  const url = new URL(redisUrl);
  const cli = ['-h', url.hostname, '-p', url.port || '6379', '-n', url.pathname.slice(1) || '0'];
  if (url.username) {
    cli.push('--user', decodeURIComponent(url.username));
  }
  const env = { PATH: process.env.PATH };
  if (url.password) {
    env.REDISCLI_AUTH = decodeURIComponent(url.password);
  }
  try {
    const { stdout } = await execFileAsync('redis-cli', [...cli, ...args], { env, maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    throw new Error(`redis-cli ${args.join(' ')} failed: ${error.stderr || error.stdout || error.message}`);
  }
}

// One Redis command; its reply parsed from redis-cli's --json output.
export async function redisCli(redisUrl, ...args) {
  const stdout = await runRedisCli(redisUrl, ['--json', ...args]);
  // Error replies come out as `error:"ERR ..."` with exit status 0: not JSON.
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`redis-cli ${args.join(' ')} answered: ${stdout.trim()}`);
  }
}

// The [name, value, ...] lists of the serialised events in a stream entry's one field: Redis
// protocol arrays of bulk strings back to back (proto/stream/README.md), whose lengths count
// UTF-8 bytes.
function packedEvents(serialized) {
  const bytes = Buffer.from(serialized, 'utf8');
  let at = 0;
  const line = () => {
    const end = bytes.indexOf('\r\n', at);
    if (end < 0) throw new Error(`malformed stream entry: ${serialized}`);
    const text = bytes.toString('utf8', at, end);
    at = end + 2;
    return text;
  };
  const events = [];
  while (at < bytes.length) {
    const count = Number(line().slice(1));
    const pairs = [];
    for (let i = 0; i < count; i++) {
      const length = Number(line().slice(1));
      pairs.push(bytes.toString('utf8', at, at + length));
      at += length + 2;
    }
    events.push(pairs);
  }
  return events;
}

// The stream's events as {id, fields: {name: value}} (id: the entry's), oldest first.
export async function streamEntries(redisUrl, key) {
  const reply = await redisCli(redisUrl, 'XRANGE', key, '-', '+');
  return reply.flatMap(([id, stored]) => {
    const events = stored.length === 2 && stored[0] === 'e' ? packedEvents(stored[1]) : [stored];
    return events.map((flat) => {
      const fields = {};
      for (let i = 0; i + 1 < flat.length; i += 2) {
        fields[flat[i]] = flat[i + 1];
      }
      return { id, fields };
    });
  });
}

// Deletes every key under `prefix` (the site map, the stream, the daily salts the collector
// made) and returns their names.
export async function deleteKeys(redisUrl, prefix) {
  // --scan prints one key per line (--json does not apply to it).
  const keys = (await runRedisCli(redisUrl, ['--scan', '--pattern', `${prefix}*`])).split('\n').filter(Boolean);
  if (keys.length > 0) {
    await redisCli(redisUrl, 'DEL', ...keys);
  }
  return keys;
}

// The real collector binary, configured only by what we pass (nothing inherited from the shell
// can point it elsewhere). Resolves once it logged {"msg":"listening","port":N}.
export function startCollector({ binary, redisUrl, prefix, extraEnv = {} }) {
  return startService({
    name: 'collector',
    binary,
    env: {
      PLUMB_REDIS_URL: redisUrl,
      PLUMB_REDIS_PREFIX: prefix,
      PLUMB_COLLECTOR_LISTEN: '127.0.0.1:0',
      PLUMB_SITE_REFRESH_MS: '200',
      PLUMB_LOG_LEVEL: 'info',
      ...extraEnv,
    },
  });
}

// One of our service binaries with exactly `env` (plus PATH). Resolves once it logged
// {"msg":"listening","port":N}, to {port, log, recentLog(), stop()}.
export async function startService({ name, binary, env }) {
  const child = spawn(binary, [], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  let exited = null;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });

  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not log "listening" within ${DEADLINE_MS} ms; log:\n${log.join('\n')}`)),
      DEADLINE_MS
    );
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        log.push(line);
        try {
          const entry = JSON.parse(line);
          if (entry.msg === 'listening' && Number.isInteger(entry.port)) {
            clearTimeout(timer);
            resolve(entry.port);
          }
        } catch {
          // Not a log object (e.g. a crash message): kept in `log` for the failure report.
        }
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${binary}: ${error.message}`));
    });
    exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before listening (code ${code}, signal ${signal}); log:\n${log.join('\n')}`));
    });
  });

  return {
    port,
    log,
    // The last lines of the service's log, for failure messages.
    recentLog: (lines = 20) => log.slice(-lines).join('\n'),
    // SIGTERM (graceful shutdown), SIGKILL if it is still running after the deadline.
    async stop() {
      if (exited) {
        return exited;
      }
      child.kill('SIGTERM');
      // Unreferenced: a pending timer must not keep the test process alive after the exit.
      const timeout = sleep(DEADLINE_MS, 'timeout', { ref: false });
      if ((await Promise.race([exit, timeout])) === 'timeout') {
        child.kill('SIGKILL');
        await exit;
        throw new Error(`${name} ignored SIGTERM; killed`);
      }
      return exited;
    },
  };
}

// A plain HTTP server for the test pages on 127.0.0.1, port 0. `routes` maps a path to a
// function returning {type, body}; `staticDirs` maps a URL prefix to a directory.
export async function startSiteServer({ routes, staticDirs = {}, fallback }) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://placeholder');
    try {
      const route = routes[url.pathname];
      if (route) {
        const { type, body } = route(req, url);
        res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
        res.end(body);
        return;
      }
      for (const [prefix, dir] of Object.entries(staticDirs)) {
        if (!url.pathname.startsWith(prefix)) {
          continue;
        }
        const relative = path.normalize(decodeURIComponent(url.pathname.slice(prefix.length)));
        if (relative.startsWith('..') || path.isAbsolute(relative)) {
          break;
        }
        const file = path.join(dir, relative);
        // The TypeScript ES module build imports './lib/tracker' without an extension, which
        // browsers resolve to exactly that URL: serve the .js file for it, as bundlers would.
        const candidates = [file, `${file}.js`];
        for (const candidate of candidates) {
          if (existsSync(candidate) && candidate.endsWith('.js')) {
            res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' });
            res.end(await readFile(candidate));
            return;
          }
        }
      }
      if (fallback) {
        const { type, body } = fallback(req, url);
        res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' });
        res.end(body);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    } catch (error) {
      res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(String(error));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

// Debian's Chromium, headless, in a fresh temporary profile (Playwright's launch() makes one
// and removes it on close). Every *.test host resolves to 127.0.0.1, so pages come from real
// hostnames: the tracker ignores localhost, and site and collector are different origins.
export async function launchChromium(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: DEADLINE_MS,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP *.test 127.0.0.1',
    ],
  });
}

// Polls `read` until `accept(value)` is truthy and returns that value; after DEADLINE_MS fails
// with `describe()` (what was seen instead) in the message.
export async function waitFor(what, read, accept, describe) {
  const deadline = Date.now() + DEADLINE_MS;
  let last;
  for (;;) {
    last = await read();
    const found = accept(last);
    if (found) {
      return found;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}\n${describe ? describe(last) : ''}`);
    }
    await sleep(POLL_MS);
  }
}
