/**
 * Admin `/cpuprofiler` and `/heapprofiler`: V8's CPU profiler and sampling heap profiler on
 * the main thread and on every worker, started by `?enable=y` and stopped by `?enable=n`.
 *
 * Main thread. Envoy's profilers are gperftools' and write to `admin.profile_path`; here
 * they are V8's and write beside that path, one file per thread, in the formats Chrome
 * DevTools, VS Code and speedscope open:
 * - stopping the CPU profiler writes `<profile_path>.<thread>.cpuprofile`;
 * - stopping the heap profiler writes `<profile_path>.<thread>.heapprofile` (every sampled
 *   allocation since the start, collected since or not, by allocation stack: where the
 *   garbage collector's work comes from) and `<profile_path>.<thread>.heapsnapshot` (the
 *   whole live heap at that moment: what is retained, and by what).
 * Without `admin.profile_path` the base is `legate.prof` in the OS temp folder. Requests
 * are served one at a time, so a stop never overtakes the start it ends. Answers, status
 * codes and the no-op cases are Envoy's. Envoy counterpart: `ProfilingHandler`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import { type AdminHandler, type AdminResponse, text } from '../admin-server.ts';

/** A running profile; `stop()` ends it and gives the profile's JSON text. */
export interface ProfileHandle {
  stop(): Promise<string>;
}

/** One thread the profilers reach: the main thread or a worker. */
export interface ProfiledThread {
  /** `main_thread`, `worker_<n>`: the file name part. */
  readonly name: string;
  startCpuProfile(): Promise<ProfileHandle>;
  startHeapProfile(options: v8.HeapProfileOptions): Promise<ProfileHandle>;
  /** The thread's heap snapshot, streamed. */
  heapSnapshot(): Promise<Readable>;
}

export interface ProfilerTargets {
  /** The base path of the files written (`admin.profile_path`). */
  readonly profilePath: string;
  /** The main thread and the workers running now. */
  threads(): readonly ProfiledThread[];
  /** Where the paths of the files written are told (the admin logger). */
  log(line: string): void;
}

/** `admin.profile_path`, or `legate.prof` in the OS temp folder when unset. */
export function profilePath(configured: string): string {
  return configured !== '' ? configured : path.join(os.tmpdir(), 'legate.prof');
}

/** The main thread, profiled through `node:v8`. */
export const mainThread: ProfiledThread = {
  name: 'main_thread',
  startCpuProfile: () => {
    const handle = v8.startCpuProfile();
    return Promise.resolve({ stop: () => Promise.resolve(handle.stop()) });
  },
  startHeapProfile: (options) => {
    const handle = v8.startHeapProfile(options);
    return Promise.resolve({ stop: () => Promise.resolve(handle.stop()) });
  },
  heapSnapshot: () => Promise.resolve(v8.getHeapSnapshot()),
};

/**
 * The heap profile counts what was allocated, not only what is still live (the snapshot shows
 * that), one sample per 32 KiB on average (Chrome DevTools' interval; V8's 512 KiB default
 * leaves a request path of ~10 KiB with too few samples to read).
 */
const HEAP_PROFILE_OPTIONS: v8.HeapProfileOptions = {
  sampleInterval: 32 * 1024,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
};

const USAGE = '?enable=<y|n>\n';

/** Envoy's check: exactly one parameter, `enable`, with `y` or `n`. */
function enableParam(query: URLSearchParams): boolean | undefined {
  const keys = [...query.keys()];
  if (keys.length !== 1 || keys[0] !== 'enable') return undefined;
  const value = query.get('enable');
  return value === 'y' ? true : value === 'n' ? false : undefined;
}

interface Running {
  readonly handles: ReadonlyArray<{ readonly thread: string; readonly handle: ProfileHandle }>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Starts a profile on every thread; if one fails, the others are stopped and discarded. */
async function startAll(
  threads: readonly ProfiledThread[],
  start: (t: ProfiledThread) => Promise<ProfileHandle>,
): Promise<Running> {
  const started = await Promise.allSettled(threads.map((t) => start(t)));
  const handles: Array<{ thread: string; handle: ProfileHandle }> = [];
  const failures: string[] = [];
  started.forEach((r, i) => {
    const thread = threads[i]!.name;
    if (r.status === 'fulfilled') handles.push({ thread, handle: r.value });
    else failures.push(`${thread}: ${message(r.reason)}`);
  });
  if (failures.length > 0) {
    await Promise.allSettled(handles.map((h) => h.handle.stop()));
    throw new Error(failures.join('; '));
  }
  return { handles };
}

/** The folder of `base` must take new files before a profiler starts. */
function checkWritable(base: string): void {
  const dir = path.dirname(base);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw new Error(`cannot write to ${dir}: ${(err as NodeJS.ErrnoException).code ?? message(err)}`);
  }
}

export function profilerHandlers(targets: ProfilerTargets): AdminHandler[] {
  let cpu: Running | undefined;
  let heap: Running | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  /** One request at a time: a stop waits for the start before it. */
  const serialized = (work: () => Promise<AdminResponse>): Promise<AdminResponse> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };
  const fileOf = (thread: string, extension: string): string =>
    `${targets.profilePath}.${thread}.${extension}`;

  /** Stops every handle and writes each profile; the failures, by thread. */
  const stopAndWrite = async (running: Running, extension: string): Promise<string[]> => {
    const results = await Promise.allSettled(
      running.handles.map(async ({ thread, handle }) => {
        const file = fileOf(thread, extension);
        await fs.promises.writeFile(file, await handle.stop());
        targets.log(`${extension} of ${thread} written to ${file}`);
      }),
    );
    return results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${running.handles[i]!.thread}: ${message(r.reason)}`] : [],
    );
  };

  const writeSnapshots = async (): Promise<string[]> => {
    const threads = targets.threads();
    const results = await Promise.allSettled(
      threads.map(async (t) => {
        const file = fileOf(t.name, 'heapsnapshot');
        await pipeline(await t.heapSnapshot(), fs.createWriteStream(file));
        targets.log(`heapsnapshot of ${t.name} written to ${file}`);
      }),
    );
    return results.flatMap((r, i) =>
      r.status === 'rejected' ? [`${threads[i]!.name}: ${message(r.reason)}`] : [],
    );
  };

  return [
    {
      path: '/cpuprofiler',
      help: 'enable/disable the CPU profiler',
      mutates: true,
      params: [{ name: 'enable', help: 'enables the CPU profiler', type: 'enum', choices: ['y', 'n'] }],
      handle: (query) => {
        const enable = enableParam(query);
        if (enable === undefined) return text(USAGE, 400);
        return serialized(async () => {
          if (enable && cpu === undefined) {
            try {
              checkWritable(targets.profilePath);
              cpu = await startAll(targets.threads(), (t) => t.startCpuProfile());
            } catch (err) {
              return text(`failure to start the profiler: ${message(err)}\n`, 500);
            }
          } else if (!enable && cpu !== undefined) {
            const running = cpu;
            cpu = undefined;
            const failures = await stopAndWrite(running, 'cpuprofile');
            if (failures.length > 0)
              return text(`failure to write the profile: ${failures.join('; ')}\n`, 500);
          }
          return text('OK\n');
        });
      },
    },
    {
      path: '/heapprofiler',
      help: 'enable/disable the heap profiler',
      mutates: true,
      params: [
        { name: 'enable', help: 'enable/disable the heap profiler', type: 'enum', choices: ['y', 'n'] },
      ],
      handle: (query) => {
        const enable = enableParam(query);
        if (enable === undefined) return text(USAGE, 400);
        return serialized(async () => {
          if (enable) {
            if (heap !== undefined) return text('Fail to start heap profiler: already started\n', 400);
            try {
              checkWritable(targets.profilePath);
              heap = await startAll(targets.threads(), (t) => t.startHeapProfile(HEAP_PROFILE_OPTIONS));
            } catch (err) {
              return text(`Fail to start the heap profiler: ${message(err)}\n`, 500);
            }
            return text('Starting heap profiler\n');
          }
          if (heap === undefined) return text('Fail to stop heap profiler: not started\n', 400);
          const running = heap;
          heap = undefined;
          const failures = [...(await stopAndWrite(running, 'heapprofile')), ...(await writeSnapshots())];
          if (failures.length > 0)
            return text(`Fail to write the heap profile: ${failures.join('; ')}\n`, 500);
          return text('Stopping heap profiler\n');
        });
      },
    },
  ];
}
