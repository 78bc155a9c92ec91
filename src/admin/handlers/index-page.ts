/**
 * Admin `/`: the home page, an HTML index of every endpoint the admin serves.
 *
 * Main thread. One row per registered handler (whatever is registered when the page is
 * asked for), with its help text; an endpoint that reads is a link, or a GET form when it
 * takes parameters; one that mutates is a POST form with a button, as POST is the only
 * method it answers. Parameters become inputs (text, a checkbox for a flag, a list for a
 * choice), each with its help as a tooltip. The page is self-contained (inline style and
 * a few lines of script that leave empty inputs out of the query): nothing is fetched
 * from elsewhere. Envoy counterpart: `AdminImpl::handlerAdminHome` and the admin's
 * HTML rendering of `ParamDescriptor`s.
 */
import type { AdminHandler, AdminParam, AdminServer } from '../admin-server.ts';
import { html } from '../admin-server.ts';

export function escapeHtml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; }
table { border-collapse: collapse; }
td { padding: 0.35em 0.8em; vertical-align: top; border-bottom: 1px solid #e4e4e4; }
td.path { white-space: nowrap; font-family: monospace; }
form { margin: 0; }
.param { display: inline-block; margin: 0.2em 0.6em 0 0; font-size: 0.9em; }
.param input[type=text] { width: 10em; }
button.post { font-family: monospace; }
.method { font-size: 0.75em; color: #777; margin-left: 0.4em; }
`;

// Leaves empty fields out of the request, so `?format=` does not mean "format is empty".
const SCRIPT = `
document.addEventListener('submit', function (e) {
  var inputs = e.target.querySelectorAll('input, select');
  for (var i = 0; i < inputs.length; i++) {
    var el = inputs[i];
    if ((el.type !== 'checkbox' && el.value === '') || (el.type === 'checkbox' && !el.checked)) el.disabled = true;
  }
});
`;

function paramInput(p: AdminParam): string {
  const name = escapeHtml(p.name);
  const title = escapeHtml(p.help);
  switch (p.type) {
    case 'boolean':
      return `<label class="param" title="${title}"><input type="checkbox" name="${name}"> ${name}</label>`;
    case 'enum': {
      const options = (p.choices ?? [])
        .map((c) => `<option value="${escapeHtml(c)}">${c === '' ? '' : escapeHtml(c)}</option>`)
        .join('');
      return `<label class="param" title="${title}">${name} <select name="${name}">${options}</select></label>`;
    }
    default:
      return `<label class="param" title="${title}">${name} <input type="text" name="${name}"></label>`;
  }
}

function row(h: AdminHandler): string {
  const path = escapeHtml(h.path);
  const params = h.params ?? [];
  let cell: string;
  if (h.mutates) {
    cell =
      `<form action="${path}" method="post"><button class="post" type="submit">${path}</button>` +
      `<span class="method">POST</span><br>${params.map(paramInput).join('')}</form>`;
  } else if (params.length === 0) {
    cell = `<a href="${path}">${path}</a>`;
  } else {
    cell =
      `<form action="${path}" method="get"><a href="${path}">${path}</a> <button type="submit">go</button><br>` +
      `${params.map(paramInput).join('')}</form>`;
  }
  return `<tr><td class="path">${cell}</td><td>${escapeHtml(h.help)}</td></tr>`;
}

/** The page for the handlers registered now. */
export function indexPage(handlers: readonly AdminHandler[], title: string): string {
  const rows = handlers
    .filter((h) => h.path !== '/')
    .map(row)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
<script>${SCRIPT}</script>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<table>
${rows}
</table>
</body>
</html>
`;
}

export function indexHandlers(admin: AdminServer, title = 'Legate Admin'): AdminHandler[] {
  return [
    {
      path: '/',
      help: 'Admin home page',
      mutates: false,
      handle: () => html(indexPage(admin.handlerList(), title)),
    },
  ];
}
