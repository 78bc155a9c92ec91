/*
 * The admin dashboard, run by the browser: polls the admin's `/stats?format=json` and
 * `/clusters?format=json` once a second, keeps the last minute of every series and draws
 * it as hand-written SVG. Served inline by `/dashboard` (src/admin/dashboard/page.ts):
 * plain JavaScript, no dependency, nothing fetched but the two JSON endpoints.
 *
 * Every plot is an `<svg data-chart>` whose `<path data-series>` carry `data-points` (the
 * points drawn) and `data-last` (the newest value), so a test (or a curious operator) can
 * read what is shown.
 */
(() => {
  const WINDOW_MS = 60_000;
  const POLL_MS = 1000;
  const FETCH_TIMEOUT_MS = 5000;
  const MAX_CLUSTERS = 30;
  const MAX_HOSTS = 20;
  const CLASSES = ['2xx', '3xx', '4xx', '5xx'];
  const STATES = ['LIVE', 'DRAINING', 'PRE_INITIALIZING', 'INITIALIZING'];
  const SVG = 'http://www.w3.org/2000/svg';
  const HEALTH_LABELS = { ok: 'healthy', deg: 'degraded', drain: 'draining', bad: 'unhealthy' };

  /** Only the stats drawn here: the admin filters before it serialises. */
  const STATS_FILTER =
    '^(http\\..+\\.downstream_rq_(total|completed|[2-5]xx|time)' +
    '|listener\\..+\\.downstream_cx_active' +
    '|cluster\\..+\\.(upstream_rq_(total|[2-5]xx|time)|membership_(healthy|total))' +
    '|server\\.(worker_[0-9]+|main_thread)\\.(watchdog_(mega_)?miss|dispatcher\\.loop_duration_us)' +
    '|server\\.(state|uptime|memory_allocated|total_connections))$';
  const STATS_URL = `stats?format=json&filter=${encodeURIComponent(STATS_FILTER)}`;
  const CLUSTERS_URL = 'clusters?format=json';

  // ---- series: the last minute of every plotted value, by key ----

  /** key -> [[time ms, value | null], ...], oldest first. */
  const history = new Map();

  function record(key, t, value) {
    let points = history.get(key);
    if (points === undefined) {
      points = [];
      history.set(key, points);
    }
    points.push([t, value]);
    while (points.length > 0 && points[0][0] < t - WINDOW_MS - 2 * POLL_MS) points.shift();
  }

  // ---- DOM helpers ----

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (children) node.append(...children);
    return node;
  }

  function svgEl(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    return node;
  }

  /** 1234 -> "1234", 12345 -> "12.3k", 2.5 -> "2.5": at most three significant digits past the point. */
  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return '–';
    const a = Math.abs(v);
    const trim = (n, digits) => String(Number(n.toFixed(digits)));
    if (a >= 1e9) return `${trim(v / 1e9, 2)}G`;
    if (a >= 1e6) return `${trim(v / 1e6, 2)}M`;
    if (a >= 1e4) return `${trim(v / 1e3, 1)}k`;
    if (a >= 100) return String(Math.round(v));
    if (a >= 10) return trim(v, 1);
    return trim(v, 2);
  }

  function fmtDuration(s) {
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
  }

  /** The smallest 1, 2 or 5 times a power of ten at or above `v`. */
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  // ---- cards and charts ----

  const cards = new Map();
  const charts = new Set();
  let lastNow = 0;
  /** Counts updates; a card not used in the latest one (a cluster removed) goes. */
  let generation = 0;

  /**
   * The card `key` in section `sectionId`, created (in arrival order) on first use. A `wide`
   * card spans the row and lays its charts side by side when there is room.
   */
  function card(sectionId, key, title, wide) {
    let c = cards.get(key);
    if (c === undefined) {
      const summary = el('p', { class: 'summary' });
      const plots = el('div', { class: 'plots' });
      const node = el('article', { class: wide ? 'card wide' : 'card', 'data-card': key }, [
        el('h3', {}, [title]),
        summary,
        plots,
      ]);
      document.querySelector(`#${sectionId} .grid`).append(node);
      c = { node, summary, plots, charts: new Map() };
      cards.set(key, c);
    }
    c.generation = generation;
    return c;
  }

  /** The chart `id` inside card `c`. */
  function chart(c, id, title, unit) {
    let ch = c.charts.get(id);
    if (ch === undefined) {
      const svg = svgEl('svg', { class: 'plot', 'data-chart': id, role: 'img', 'aria-label': title });
      const legend = el('ul', { class: 'legend' });
      c.plots.append(el('figure', { class: 'chart' }, [el('figcaption', {}, [title]), svg, legend]));
      ch = { svg, legend, unit, lines: [] };
      c.charts.set(id, ch);
      charts.add(ch);
    }
    return ch;
  }

  /**
   * Draws `lines` ([{ key, label, color, note? }]) from `history` over the last minute.
   * Values null break the line.
   */
  function draw(ch, lines, now) {
    ch.lines = lines;
    const w = Math.max(200, Math.round(ch.svg.getBoundingClientRect().width) || 320);
    const h = 140;
    const left = 40;
    const right = 6;
    const top = 8;
    const bottom = 16;
    const from = now - WINDOW_MS;
    let max = 0;
    for (const line of lines)
      for (const [t, v] of history.get(line.key) || []) if (t >= from && v !== null && v > max) max = v;
    const yMax = niceMax(max);
    const x = (t) => left + ((t - from) / WINDOW_MS) * (w - left - right);
    const y = (v) => top + (1 - v / yMax) * (h - top - bottom);
    const nodes = [];
    for (const frac of [0, 0.5, 1]) {
      const v = yMax * frac;
      nodes.push(svgEl('line', { class: 'rule', x1: left, x2: w - right, y1: y(v), y2: y(v) }));
      nodes.push(svgEl('text', { x: left - 4, y: y(v) + 3, 'text-anchor': 'end' }));
      nodes[nodes.length - 1].textContent = fmt(v);
    }
    for (const [label, t, anchor] of [
      ['-60s', from, 'start'],
      ['-30s', from + WINDOW_MS / 2, 'middle'],
      ['now', now, 'end'],
    ]) {
      const text = svgEl('text', { x: x(t), y: h - 3, 'text-anchor': anchor });
      text.textContent = label;
      nodes.push(text);
    }
    const legend = [];
    for (const line of lines) {
      const points = (history.get(line.key) || []).filter(([t]) => t >= from);
      let d = '';
      let pen = 'M';
      let count = 0;
      let last = null;
      for (const [t, v] of points) {
        if (v === null) {
          pen = 'M';
          continue;
        }
        d += `${pen}${x(t).toFixed(1)} ${y(v).toFixed(1)}`;
        pen = 'L';
        count++;
        last = v;
      }
      nodes.push(
        svgEl('path', {
          class: `line ${line.color}`,
          d: d || 'M0 0',
          'data-series': line.label,
          'data-points': count,
          'data-last': last === null ? '' : last,
        }),
      );
      const value = el('b', {}, [`${fmt(last)} ${ch.unit}`]);
      const item = el('li', {}, [el('span', { class: `swatch ${line.color}` }), `${line.label} `, value]);
      if (line.note) item.append(el('small', {}, [` ${line.note}`]));
      legend.push(item);
    }
    ch.svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    ch.svg.replaceChildren(...nodes);
    ch.legend.replaceChildren(...legend);
  }

  function palette(i) {
    return `k${i % 8}`;
  }

  function showEmpty(sectionId, empty) {
    document.querySelector(`#${sectionId} .empty`).hidden = !empty;
  }

  // ---- reading the admin's JSON ----

  function parseStats(body) {
    const values = new Map();
    const quantiles = new Map();
    for (const entry of body.stats || []) {
      if (entry.histograms !== undefined) {
        const supported = entry.histograms.supported_quantiles || [];
        const i50 = supported.indexOf(50);
        const i99 = supported.indexOf(99);
        for (const hist of entry.histograms.computed_quantiles || []) {
          // `interval`: since the last stats flush, the recent latency.
          const at = (i) => (i < 0 || hist.values[i] === undefined ? null : hist.values[i].interval);
          quantiles.set(hist.name, { p50: at(i50), p99: at(i99) });
        }
      } else if (typeof entry.value === 'number') {
        values.set(entry.name, entry.value);
      }
    }
    return { values, quantiles };
  }

  /** Names matching `re`, with its first group, sorted by it. */
  function captures(names, re) {
    const out = [];
    for (const name of names) {
      const m = re.exec(name);
      if (m !== null) out.push(m[1]);
    }
    return out.sort();
  }

  function hostHealth(status) {
    const s = status || {};
    if (s.failed_active_health_check || s.failed_outlier_check || s.failed_eds_health) return 'bad';
    const eds = s.eds_health_status || 'HEALTHY';
    if (eds === 'UNHEALTHY' || eds === 'TIMEOUT') return 'bad';
    if (eds === 'DRAINING' || s.pending_dynamic_removal) return 'drain';
    if (eds === 'DEGRADED' || s.failed_active_degraded_check) return 'deg';
    return 'ok';
  }

  function hostAddress(address) {
    const a = address || {};
    if (a.socket_address) return `${a.socket_address.address}:${a.socket_address.port_value}`;
    if (a.pipe) return a.pipe.path;
    return '?';
  }

  // ---- one poll: record, then draw ----

  let previous;
  let polls = 0;

  function update(stats, clusterStatuses, now) {
    generation++;
    const { values, quantiles } = stats;
    const dt = previous === undefined ? 0 : (now - previous.t) / 1000;
    /** Increase per second since the previous poll; null first, or when the counter went back. */
    const rate = (name) => {
      if (previous === undefined || dt <= 0) return null;
      const a = previous.values.get(name);
      const b = values.get(name);
      return a === undefined || b === undefined || b < a ? null : (b - a) / dt;
    };
    const names = [...values.keys()];

    /** Records and draws requests (`<stat>_total`, `_2xx`..`_5xx`, `_time`) on card `c`. */
    const traffic = (c, key, stat) => {
      const total = rate(`${stat}_total`);
      const classRates = CLASSES.map((cls) => rate(`${stat}_${cls}`));
      record(`${key}:total`, now, total);
      for (let i = 0; i < CLASSES.length; i++) record(`${key}:${CLASSES[i]}`, now, classRates[i]);
      const q = quantiles.get(`${stat}_time`) || { p50: null, p99: null };
      record(`${key}:p50`, now, q.p50);
      record(`${key}:p99`, now, q.p99);
      drawRates(c, key, now);
      drawLatency(c, key, `${stat.slice(stat.lastIndexOf('.') + 1)}_time`, now);
      return { total, summary: errorSummary(total, classRates) };
    };

    // Header.
    const state = values.get('server.state');
    document.getElementById('state').textContent = state === undefined ? '–' : STATES[state] || String(state);
    document.getElementById('state').className = state === 0 ? 'text-ok' : 'text-warn';
    const uptime = values.get('server.uptime');
    document.getElementById('uptime').textContent = uptime === undefined ? '–' : fmtDuration(uptime);
    document.getElementById('memory').textContent = `${fmt(values.get('server.memory_allocated'))}B`;
    document.getElementById('connections').textContent = fmt(values.get('server.total_connections'));

    // HTTP connection managers.
    const hcms = captures(names, /^http\.(.+)\.downstream_rq_completed$/);
    showEmpty('hcm', hcms.length === 0);
    let totalRate = null;
    for (const prefix of hcms) {
      const c = card('hcm', `hcm:${prefix}`, prefix, true);
      const { total, summary } = traffic(c, `hcm:${prefix}`, `http.${prefix}.downstream_rq`);
      if (total !== null) totalRate = (totalRate || 0) + total;
      c.summary.textContent = summary;
    }
    document.getElementById('rate').textContent = totalRate === null ? '–' : `${fmt(totalRate)}/s`;

    // Clusters: by stat name (observability name), joined with /clusters for hosts.
    const byStatName = new Map();
    for (const cs of clusterStatuses || []) byStatName.set(cs.observability_name || cs.name, cs);
    const clusters = captures(names, /^cluster\.(.+)\.membership_total$/);
    showEmpty('clusters', clusters.length === 0);
    document.getElementById('clusters-more').textContent =
      clusters.length > MAX_CLUSTERS ? `${clusters.length - MAX_CLUSTERS} more clusters not shown` : '';
    for (const name of clusters.slice(0, MAX_CLUSTERS)) {
      const base = `cluster.${name}.`;
      const status = byStatName.get(name);
      const title = status && status.name !== name ? status.name : name;
      const c = card('clusters', `cluster:${name}`, title, true);
      const { summary } = traffic(c, `cluster:${name}`, `${base}upstream_rq`);
      const healthy = values.get(`${base}membership_healthy`);
      const members = values.get(`${base}membership_total`);
      record(`cluster:${name}:healthy`, now, healthy === undefined ? null : healthy);
      record(`cluster:${name}:members`, now, members === undefined ? null : members);
      c.summary.textContent = `${fmt(healthy)}/${fmt(members)} hosts healthy · ${summary}`;
      draw(
        chart(c, `cluster:${name}:health`, 'Hosts: healthy / total', 'hosts'),
        [
          { key: `cluster:${name}:members`, label: 'total', color: 'k-total' },
          { key: `cluster:${name}:healthy`, label: 'healthy', color: 'k-2xx' },
        ],
        now,
      );
      drawHosts(c, name, status, now);
    }

    // Workers.
    const threads = [
      ...new Set([
        ...captures(names, /^server\.(worker_[0-9]+|main_thread)\.watchdog_miss$/),
        ...captures(quantiles.keys(), /^server\.(worker_[0-9]+|main_thread)\.dispatcher\.loop_duration_us$/),
      ]),
    ].sort(byThread);
    const workers = threads.filter((t) => t !== 'main_thread');
    const active = new Map(workers.map((w) => [w, 0]));
    for (const name of names) {
      const m = /^listener\..+\.(worker_[0-9]+)\.downstream_cx_active$/.exec(name);
      if (m !== null) active.set(m[1], (active.get(m[1]) || 0) + values.get(name));
    }
    const activeWorkers = [...active.keys()].sort(byThread);
    for (const w of activeWorkers) record(`cx:${w}`, now, active.get(w));
    const misses = new Map();
    for (const t of threads) {
      const q = quantiles.get(`server.${t}.dispatcher.loop_duration_us`) || { p50: null, p99: null };
      record(`loop:${t}:p99`, now, q.p99);
      record(`loop:${t}:p50`, now, q.p50);
      record(`miss:${t}`, now, rate(`server.${t}.watchdog_miss`));
      misses.set(t, [values.get(`server.${t}.watchdog_miss`), values.get(`server.${t}.watchdog_mega_miss`)]);
    }
    showEmpty('workers', threads.length === 0);
    if (threads.length > 0) {
      draw(
        chart(card('workers', 'workers:cx', 'Active connections'), 'workers:cx', 'Per worker', 'conns'),
        activeWorkers.map((w, i) => ({ key: `cx:${w}`, label: w, color: palette(i) })),
        now,
      );
      const loopCard = card('workers', 'workers:loop', 'Event loop duration');
      // Recorded only with the bootstrap's enable_dispatcher_stats, off by default as in Envoy.
      const loopStats = threads.some((t) => quantiles.has(`server.${t}.dispatcher.loop_duration_us`));
      loopCard.summary.textContent = loopStats
        ? ''
        : 'Off: set enable_dispatcher_stats: true in the bootstrap.';
      draw(
        chart(loopCard, 'workers:loop', 'p99 per thread, since the last stats flush', 'µs'),
        threads.map((t, i) => ({
          key: `loop:${t}:p99`,
          label: t,
          color: palette(i),
          note: `(p50 ${fmt(last(`loop:${t}:p50`))})`,
        })),
        now,
      );
      const missCard = card('workers', 'workers:watchdog', 'Watchdog misses');
      const totalMisses = [...misses.values()].reduce((sum, [m]) => sum + (m || 0), 0);
      missCard.summary.textContent = `${fmt(totalMisses)} misses since start`;
      draw(
        chart(missCard, 'workers:watchdog', 'Misses per second per thread', '/s'),
        threads.map((t, i) => ({
          key: `miss:${t}`,
          label: t,
          color: palette(i),
          note: `(total ${fmt(misses.get(t)[0])}, mega ${fmt(misses.get(t)[1])})`,
        })),
        now,
      );
    }

    for (const [key, c] of cards) {
      if (c.generation === generation) continue;
      c.node.remove();
      for (const ch of c.charts.values()) charts.delete(ch);
      cards.delete(key);
    }
    previous = { t: now, values };
    lastNow = now;
  }

  function last(key) {
    const points = history.get(key);
    return points === undefined || points.length === 0 ? null : points[points.length - 1][1];
  }

  function byThread(a, b) {
    const n = (t) => (t === 'main_thread' ? -1 : Number(t.slice('worker_'.length)));
    return n(a) - n(b);
  }

  function errorSummary(total, classRates) {
    if (total === null) return 'waiting for a second sample';
    const share = (r) => (total > 0 && r !== null ? `${fmt((100 * r) / total)}%` : '–');
    return `${fmt(total)} rq/s · 4xx ${share(classRates[2])} · 5xx ${share(classRates[3])}`;
  }

  function drawRates(c, key, now) {
    draw(
      chart(c, `${key}:rate`, 'Requests per second by class', '/s'),
      [
        { key: `${key}:total`, label: 'total', color: 'k-total' },
        ...CLASSES.map((cls) => ({ key: `${key}:${cls}`, label: cls, color: `k-${cls}` })),
      ],
      now,
    );
  }

  function drawLatency(c, key, stat, now) {
    draw(
      chart(c, `${key}:latency`, `${stat} p50 / p99 (ms), since the last stats flush`, 'ms'),
      [
        { key: `${key}:p50`, label: 'p50', color: 'k0' },
        { key: `${key}:p99`, label: 'p99', color: 'k1' },
      ],
      now,
    );
  }

  /** The host table of one cluster: health now and over the last minute, connections, rate. */
  function drawHosts(c, name, status, now) {
    if (c.hosts === undefined) {
      c.hostRows = el('tbody');
      c.hostsMore = el('p', { class: 'note' });
      c.hosts = el('table', { class: 'hosts' }, [
        el('thead', {}, [
          el('tr', {}, [
            el('th', {}, ['host']),
            el('th', {}, ['health']),
            el('th', {}, ['last 60 s']),
            el('th', {}, ['cx']),
            el('th', {}, ['rq/s']),
          ]),
        ]),
        c.hostRows,
      ]);
      c.node.append(c.hosts, c.hostsMore);
    }
    const hosts = status ? status.host_statuses || [] : [];
    c.hostsMore.textContent =
      status === undefined
        ? 'hosts: /clusters did not answer'
        : hosts.length > MAX_HOSTS
          ? `${hosts.length - MAX_HOSTS} more hosts not shown`
          : '';
    const rows = [];
    for (const host of hosts.slice(0, MAX_HOSTS)) {
      const address = hostAddress(host.address);
      const stat = new Map((host.stats || []).map((s) => [s.name, Number(s.value)]));
      const health = hostHealth(host.health_status);
      const key = `host:${name}:${address}`;
      record(key, now, health);
      const prevRq = c.prevHostRq === undefined ? undefined : c.prevHostRq.get(address);
      const rq = stat.get('rq_total');
      const rqRate =
        prevRq === undefined || rq === undefined || rq < prevRq.value
          ? null
          : (rq - prevRq.value) / ((now - prevRq.t) / 1000);
      rows.push(
        el('tr', { 'data-host': address, 'data-health': health }, [
          el('td', { class: 'addr' }, [address]),
          el('td', {}, [el('span', { class: `badge ${health}` }, [HEALTH_LABELS[health]])]),
          el('td', {}, [strip(key, now)]),
          el('td', {}, [fmt(stat.get('cx_active'))]),
          el('td', {}, [fmt(rqRate)]),
        ]),
      );
    }
    c.prevHostRq = new Map(
      hosts.map((host) => {
        const rq = (host.stats || []).find((s) => s.name === 'rq_total');
        return [hostAddress(host.address), { value: rq ? Number(rq.value) : 0, t: now }];
      }),
    );
    c.hostRows.replaceChildren(...rows);
  }

  /** One cell per poll over the last minute, coloured by health. */
  function strip(key, now) {
    const svg = svgEl('svg', { class: 'strip', viewBox: '0 0 60 1', preserveAspectRatio: 'none' });
    for (const [t, health] of history.get(key) || []) {
      const slot = Math.floor(((t - (now - WINDOW_MS)) / WINDOW_MS) * 60);
      if (slot >= 0 && slot < 60)
        svg.append(svgEl('rect', { class: health, x: slot, y: 0, width: 1, height: 1 }));
    }
    return svg;
  }

  // ---- the loop ----

  async function getJson(url) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), FETCH_TIMEOUT_MS);
    try {
      const response = await fetch(url, { signal: abort.signal, cache: 'no-store' });
      if (!response.ok) throw new Error(`${url.split('?')[0]}: HTTP ${response.status}`);
      return await response.json();
    } finally {
      clearTimeout(timer);
    }
  }

  function setStatus(ok, message) {
    const status = document.getElementById('status');
    status.className = ok ? 'text-ok' : 'text-bad';
    status.textContent = message;
  }

  /** One poll, then the next a second after this one began. A bug in drawing is thrown, not hidden. */
  async function poll() {
    const started = performance.now();
    try {
      let stats;
      let clusters;
      try {
        [stats, clusters] = await Promise.all([
          getJson(STATS_URL),
          getJson(CLUSTERS_URL).then(
            (body) => body.cluster_statuses || [],
            () => undefined,
          ),
        ]);
      } catch (err) {
        setStatus(false, `admin unreachable: ${err.message}`);
        return;
      }
      update(parseStats(stats), clusters, performance.now());
      polls++;
      document.body.dataset.polls = String(polls);
      setStatus(true, `updated ${new Date().toLocaleTimeString()}`);
    } finally {
      setTimeout(poll, Math.max(0, POLL_MS - (performance.now() - started)));
    }
  }

  let resizeQueued = false;
  window.addEventListener('resize', () => {
    if (resizeQueued || lastNow === 0) return;
    resizeQueued = true;
    requestAnimationFrame(() => {
      resizeQueued = false;
      for (const ch of charts) draw(ch, ch.lines, lastNow);
    });
  });

  poll();
})();
