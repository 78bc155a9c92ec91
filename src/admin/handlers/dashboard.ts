/**
 * Admin `/dashboard`: a live page of the server's traffic, latency, host health and worker
 * load, drawn in the browser from `/stats?format=json` and `/clusters?format=json`.
 *
 * Main thread. The page itself is built in `../dashboard/`. Envoy has no counterpart; it is
 * an HTML view over Envoy's own admin outputs, like the admin's `/` index.
 */
import type { AdminHandler } from '../admin-server.ts';
import { dashboardPage } from '../dashboard/page.ts';

export function dashboardHandlers(): AdminHandler[] {
  return [
    {
      path: '/dashboard',
      help: 'live plots of request rates, latency, host health and worker load (HTML)',
      mutates: false,
      handle: () => {
        const page = dashboardPage();
        return {
          status: 200,
          contentType: 'text/html; charset=UTF-8',
          body: page.html,
          headers: { 'content-security-policy': page.contentSecurityPolicy },
        };
      },
    },
  ];
}
