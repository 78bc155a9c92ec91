/**
 * The admin dashboard page: one self-contained HTML document, its style (dashboard.css)
 * and script (dashboard.js) inlined, nothing else loaded but the admin's own JSON.
 *
 * Main thread; read once, on the first request. The Content-Security-Policy allows
 * exactly the inlined style and script (by hash) and requests to the admin itself, so
 * the page works offline and cannot load from anywhere else.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';

export interface DashboardPage {
  readonly html: string;
  readonly contentSecurityPolicy: string;
}

function asset(name: string): string {
  return fs.readFileSync(new URL(name, import.meta.url), 'utf8');
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The page skeleton: a header of server figures, then one section per subject. */
function body(): string {
  const section = (id: string, title: string, empty: string, extra = ''): string =>
    `<section id="${id}"><h2>${title}</h2><p class="empty" hidden>${empty}</p>${extra}<div class="grid"></div></section>`;
  return [
    '<header>',
    '<h1>Legate</h1>',
    '<dl>',
    '<div><dt>state</dt><dd id="state">–</dd></div>',
    '<div><dt>uptime</dt><dd id="uptime">–</dd></div>',
    '<div><dt>requests</dt><dd id="rate">–</dd></div>',
    '<div><dt>connections</dt><dd id="connections">–</dd></div>',
    '<div><dt>heap</dt><dd id="memory">–</dd></div>',
    '</dl>',
    '<span id="status">connecting…</span>',
    '</header>',
    '<main>',
    section('hcm', 'HTTP connection managers', 'No HTTP connection manager in this configuration.'),
    section(
      'clusters',
      'Clusters',
      'No cluster in this configuration.',
      '<p class="note" id="clusters-more"></p>',
    ),
    section('workers', 'Workers', 'No worker statistics yet.'),
    '</main>',
  ].join('\n');
}

function build(): DashboardPage {
  // Trailing newlines inside the tags are part of what the hashes cover.
  const style = `\n${asset('dashboard.css')}`;
  const script = `\n${asset('dashboard.js')}`;
  if (script.includes('</script') || style.includes('</style'))
    throw new Error('bug: a dashboard asset would close its own tag');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Legate dashboard</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
${body()}
<script>${script}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

let page: DashboardPage | undefined;

/** The page, built on first use. */
export function dashboardPage(): DashboardPage {
  page ??= build();
  return page;
}
