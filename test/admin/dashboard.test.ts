/**
 * Admin `/dashboard` in a real browser: a legate with an HTTP listener in front of a
 * loopback upstream, requests of every class running through it, and headless Chromium
 * (Debian's `chromium`, driven by playwright-core) on the page. The plots must fill from
 * `/stats` and `/clusters`, the page must log no error, and it must read as one column on
 * a phone and as a grid on a wide screen. Screenshots land in test/artifacts/ for people
 * to look at.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import {
  freePort,
  httpProxyConfig,
  httpUpstream,
  type Legate,
  ROOT,
  startLegate,
} from '../integration/harness.ts';

const ARTIFACTS = path.join(ROOT, 'test/artifacts');
const CHROMIUM = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p) => p !== undefined && p !== '' && fs.existsSync(p),
);

/** The upstream: 503 under /fail, 404 under /missing, 200 otherwise. */
function upstream(): ReturnType<typeof httpUpstream> {
  return httpUpstream((req, res) => {
    res.statusCode = req.url?.startsWith('/fail') ? 503 : req.url?.startsWith('/missing') ? 404 : 200;
    res.end('upstream');
  });
}

/**
 * An HTTP listener routing everything to cluster `backend`: the upstream, plus a host EDS marks
 * unhealthy; with the dispatcher stats (`enable_dispatcher_stats`) unless told otherwise.
 */
function config(port: number, upstreamPort: number, deadPort: number, dispatcherStats = true): string {
  const proxy = httpProxyConfig(port, upstreamPort, {
    extraEndpoints: `        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${deadPort} } } }
          health_status: UNHEALTHY`,
  });
  return `enable_dispatcher_stats: ${dispatcherStats}\n${proxy}`;
}

/** Keeps `clients` keep-alive request loops running through the proxy until `stop()`. */
function load(port: number, clients: number): { stop(): Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let running = true;
  const paths = ['/ok', '/ok', '/missing', '/fail'];
  const one = (p: string): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
    });
  const loops = Array.from({ length: clients }, async (_, i) => {
    for (let n = i; running; n++) await one(paths[n % paths.length]!);
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** The little of the page's globals read here (the tests compile without the DOM types). */
interface PageGlobals {
  readonly document: {
    readonly body: { readonly dataset: Record<string, string | undefined> };
    readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number };
  };
}

/** How many polls the page has drawn. */
function polls(page: Page): Promise<number> {
  return page.evaluate(() =>
    Number((globalThis as unknown as PageGlobals).document.body.dataset['polls'] ?? 0),
  );
}

async function waitForPolls(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (min) => Number((globalThis as unknown as PageGlobals).document.body.dataset['polls'] ?? 0) >= min,
    n,
    { timeout: 20_000 },
  );
}

interface Series {
  readonly chart: string;
  readonly series: string;
  readonly points: number;
  readonly last: number | null;
}

async function plotted(page: Page): Promise<Series[]> {
  return page.$$eval('svg[data-chart] path[data-series]', (paths) =>
    paths.map((p) => ({
      chart: p.closest('svg')?.getAttribute('data-chart') ?? '',
      series: p.getAttribute('data-series') ?? '',
      points: Number(p.getAttribute('data-points')),
      last: p.getAttribute('data-last') === '' ? null : Number(p.getAttribute('data-last')),
    })),
  );
}

function find(all: readonly Series[], chart: string, series: string): Series {
  const s = all.find((x) => x.chart === chart && x.series === series);
  assert.ok(s, `no series ${series} in chart ${chart}; charts: ${[...new Set(all.map((x) => x.chart))]}`);
  return s;
}

test('dashboard: a self-contained page whose Content-Security-Policy admits only its own inline style and script', async () => {
  const legate = await startLegate(config(await freePort(), await freePort(), await freePort()));
  try {
    const res = await fetch(`${legate.admin}/dashboard`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1];
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1];
    assert.ok(script !== undefined && style !== undefined);
    const hash = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    assert.ok(csp.includes(`script-src ${hash(script)}`), 'the script hash is in the policy');
    assert.ok(csp.includes(`style-src ${hash(style)}`), 'the style hash is in the policy');
    // Nothing from elsewhere: no external script, style, image or font.
    assert.doesNotMatch(html, /\b(src|href)=["']?(https?:)?\/\//i);
    assert.doesNotMatch(html, /url\(\s*["']?(https?:)?\/\//i);
  } finally {
    await legate.stop();
  }
});

/** Options of the tests that drive the page in Chromium. */
const IN_CHROMIUM = {
  skip:
    CHROMIUM === undefined ? 'chromium is not installed (Debian package `chromium`; CI installs it)' : false,
  timeout: 60_000,
};

test(
  'dashboard: Chromium draws request rates by class, latency, host health and worker load from a loaded legate',
  IN_CHROMIUM,
  async () => {
    const up = await upstream();
    const port = await freePort();
    let legate: Legate | undefined;
    let traffic: { stop(): Promise<void> } | undefined;
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      legate = await startLegate(config(port, up.port, await freePort()), ['--concurrency', '2']);
      traffic = load(port, 3);
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
      page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()}`));

      await page.goto(`${legate.admin}/dashboard`);
      // Five polls: four rate samples per counter.
      await waitForPolls(page, 5).catch((err: Error) => {
        throw new Error(`${err.message}\npage errors: ${errors.join('\n')}`);
      });
      const all = await plotted(page);

      // Request rate by class per connection manager, and the same per cluster.
      for (const chart of ['hcm:ingress_http:rate', 'cluster:backend:rate']) {
        for (const series of ['total', '2xx', '4xx', '5xx']) {
          const s = find(all, chart, series);
          assert.ok(s.points >= 3, `${chart} ${series}: ${s.points} points`);
          assert.ok(s.last !== null && s.last > 0, `${chart} ${series}: last ${s.last}`);
        }
      }
      // p50/p99 latency from the histograms' computed quantiles.
      for (const chart of ['hcm:ingress_http:latency', 'cluster:backend:latency']) {
        for (const series of ['p50', 'p99']) {
          const s = find(all, chart, series);
          assert.ok(
            s.points >= 3 && s.last !== null && s.last >= 0,
            `${chart} ${series}: ${JSON.stringify(s)}`,
          );
        }
      }
      // Host health: one of two hosts is healthy, per cluster and per host.
      assert.equal(find(all, 'cluster:backend:health', 'healthy').last, 1);
      assert.equal(find(all, 'cluster:backend:health', 'total').last, 2);
      const hosts = await page.$$eval('[data-card="cluster:backend"] tr[data-host]', (rows) =>
        rows.map((r) => `${r.getAttribute('data-host')} ${r.getAttribute('data-health')}`),
      );
      assert.equal(hosts.length, 2);
      assert.ok(hosts.includes(`127.0.0.1:${up.port} ok`), hosts.join(', '));
      assert.equal(hosts.filter((h) => h.endsWith(' bad')).length, 1, hosts.join(', '));
      // Workers: active connections and loop duration per worker, watchdog misses per thread.
      for (const worker of ['worker_0', 'worker_1']) {
        assert.ok(find(all, 'workers:cx', worker).points >= 3);
        assert.ok(find(all, 'workers:loop', worker).points >= 3);
        assert.ok(find(all, 'workers:watchdog', worker).points >= 3);
      }
      assert.ok(find(all, 'workers:loop', 'main_thread').points >= 3);
      // Three loops through keep-alive connections: three connections open across the workers.
      const cx = ['worker_0', 'worker_1'].map((w) => find(all, 'workers:cx', w).last ?? 0);
      assert.equal(cx[0]! + cx[1]!, 3, `active connections per worker ${cx}`);
      // The drawn lines really are lines.
      const d = await page.getAttribute('[data-chart="hcm:ingress_http:rate"] path[data-series="2xx"]', 'd');
      assert.match(d ?? '', /^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+){2,}$/);

      // A wide screen: the worker cards share a row.
      const wide = await page.$$eval('#workers .card', (cards) =>
        cards.map((c) => c.getBoundingClientRect().top),
      );
      assert.equal(wide.length, 3);
      assert.equal(new Set(wide.map(Math.round)).size, 1, `worker cards at ${wide}`);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });

      // A phone: one column, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await waitForPolls(page, (await polls(page)) + 1);
      const lefts = await page.$$eval('.card', (cards) =>
        cards.map((c) => Math.round(c.getBoundingClientRect().left)),
      );
      const width = await page.evaluate(() => {
        const root = (globalThis as unknown as PageGlobals).document.documentElement;
        return { scroll: root.scrollWidth, client: root.clientWidth };
      });
      assert.equal(new Set(lefts).size, 1, `card left edges on a phone: ${lefts}`);
      assert.ok(width.scroll <= width.client, `page ${width.scroll}px wide on a ${width.client}px screen`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png'), fullPage: true });

      assert.deepEqual(errors, []);
    } finally {
      await traffic?.stop();
      await browser.close();
      await legate?.stop();
      await up.close();
    }
  },
);

test(
  'dashboard: without enable_dispatcher_stats the loop-duration card says how to turn them on',
  IN_CHROMIUM,
  async () => {
    const up = await upstream();
    let legate: Legate | undefined;
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      legate = await startLegate(config(await freePort(), up.port, await freePort(), false), [
        '--concurrency',
        '1',
      ]);
      const page = await browser.newPage();
      await page.goto(`${legate.admin}/dashboard`);
      await waitForPolls(page, 2);
      const summary = await page.textContent('[data-card="workers:loop"] .summary');
      assert.match(summary ?? '', /enable_dispatcher_stats: true/);
      const watchdog = await page.textContent('[data-card="workers:watchdog"] .summary');
      assert.match(watchdog ?? '', /misses since start/);
    } finally {
      await browser.close();
      await legate?.stop();
      await up.close();
    }
  },
);
