/**
 * Admin `/init_dump`: the init targets start-up still waits for, as Envoy's
 * `admin.v3.UnreadyTargetsDumps` JSON.
 *
 * Main thread. One entry per init manager with targets not ready yet (`name`,
 * `target_names`); nothing (`{}`) once everything is initialized. `?mask=listener` keeps
 * the listeners' targets only (the one component Envoy's `mask` names). Legate has one
 * init manager, the server's, whose targets are the clusters (`Cluster <name>`) and the
 * listeners (`Listener-init-target <name>`). Envoy counterpart: `InitDumpHandler`
 * (source/server/admin/init_dump_handler.cc).
 */
import type { InitManager } from '../../server/init-manager.ts';
import { type AdminHandler, protoJson } from '../admin-server.ts';

const COMPONENTS: Readonly<Record<string, (target: string) => boolean>> = {
  listener: (target) => target.startsWith('Listener'),
};

export function initDumpHandlers(managers: () => readonly InitManager[]): AdminHandler[] {
  return [
    {
      path: '/init_dump',
      help: 'print out the unready targets of the init managers',
      mutates: false,
      params: [
        {
          name: 'mask',
          type: 'string',
          help: 'The desired component to dump unready targets. The mask is parsed as a FieldMask. For example, get the unready targets of all listeners with /init_dump?mask=listener`',
        },
      ],
      handle: (query) => {
        const mask = query.get('mask');
        const keep = mask === null || mask === '' ? () => true : (COMPONENTS[mask] ?? (() => false));
        const dumps = managers()
          .map((m) => ({ name: m.name, target_names: m.pending().filter(keep) }))
          .filter((d) => d.target_names.length > 0);
        return protoJson(dumps.length === 0 ? {} : { unready_targets_dumps: dumps });
      },
    },
  ];
}
