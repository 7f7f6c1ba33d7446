// Every command the page calls in the shell, typed: the only place that calls `invoke`. The
// commands' list is src-tauri/src/commands/list.rs; a Rust test holds this file to it. A command
// that fails rejects with an IpcError: its `message` for the user, and data to act on (the
// services and ports of a port conflict).
import { Channel, invoke } from '@tauri-apps/api/core';
import type { ActionRequest } from '../bindings/ActionRequest';
import type { ContextInfo } from '../bindings/ContextInfo';
import type { DirListing } from '../bindings/DirListing';
import type { ErrorKind } from '../bindings/ErrorKind';
import type { Filter } from '../bindings/Filter';
import type { Holder } from '../bindings/Holder';
import type { IpcError } from '../bindings/IpcError';
import type { LogRequest } from '../bindings/LogRequest';
import type { Metrics } from '../bindings/Metrics';
import type { ProgressEvent } from '../bindings/ProgressEvent';
import type { ProjectsView } from '../bindings/ProjectsView';
import type { Rows } from '../bindings/Rows';
import type { Search } from '../bindings/Search';
import type { ServiceInspect } from '../bindings/ServiceInspect';
import type { Settings } from '../bindings/Settings';
import type { SettingsChange } from '../bindings/SettingsChange';
import type { StackView } from '../bindings/StackView';
import type { SwarmRole } from '../bindings/SwarmRole';
import type { SwarmView } from '../bindings/SwarmView';
import type { TerminalEnded } from '../bindings/TerminalEnded';
import type { ViewStats } from '../bindings/ViewStats';

export type { IpcError };

const KINDS: readonly ErrorKind[] = [
  'port_conflict',
  'engine',
  'stack',
  'cancelled',
  'invalid',
  'not_ready',
  'file',
];

/** What a rejected command carries, as an IpcError. The shell's commands reject with one; Tauri
 * itself rejects with a bare string (a command the capability does not grant), read as an
 * `invalid` request with those words. */
export function ipcError(err: unknown): IpcError {
  if (typeof err === 'object' && err !== null) {
    const e = err as Partial<IpcError>;
    if (typeof e.message === 'string' && KINDS.includes(e.kind as ErrorKind)) {
      return {
        kind: e.kind as ErrorKind,
        message: e.message,
        service: typeof e.service === 'string' ? e.service : null,
        ports: Array.isArray(e.ports) ? e.ports : [],
      };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { kind: 'invalid', message, service: null, ports: [] };
}

/** The rows a failure names, each with why: a port conflict's services, with which host port
 * is taken and by what. */
export function conflictRows(error: IpcError | null): Map<string, string> {
  const rows = new Map<string, string>();
  if (error?.kind !== 'port_conflict') return rows;
  for (const p of error.ports) {
    const why = `host port ${p.host_port}/${p.protocol} is held by ${holderText(p.holder)}`;
    const before = rows.get(p.service);
    rows.set(p.service, before ? `${before}; ${why}` : why);
  }
  if (error.service && !rows.has(error.service)) {
    rows.set(error.service, error.message.split('\n')[0]);
  }
  return rows;
}

/** What holds a port, in the engine's words (berth-engine's `Holder` Display). */
export function holderText(h: Holder): string {
  if (h.kind === 'container') {
    return h.project ? `container ${h.name} of compose project ${h.project}` : `container ${h.name}`;
  }
  if (h.pid !== null && h.command !== null) return `process ${h.command} (pid ${h.pid})`;
  if (h.pid !== null) return `process ${h.pid}`;
  return 'a process of another user';
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (err) {
    throw ipcError(err);
  }
}

function channel<T>(onMessage: (message: T) => void): Channel<T> {
  const c = new Channel<T>();
  c.onmessage = onMessage;
  return c;
}

// The stack.

/** Sends the stack's view now and after every change. */
export function watchStack(onView: (view: StackView) => void): Promise<void> {
  return call('watch_stack', { onView: channel(onView) });
}

/** Runs `request` on the stack, streaming its progress; rejects with what failed. */
export function runAction(
  request: ActionRequest,
  onProgress: (event: ProgressEvent) => void,
): Promise<void> {
  return call('run_action', { request, onProgress: channel(onProgress) });
}

export function cancelAction(): Promise<void> {
  return call('cancel_action');
}

// Resource use and port probes.

export function watchMetrics(onMetrics: (m: Metrics) => void): Promise<void> {
  return call('watch_metrics', { onMetrics: channel(onMetrics) });
}

export function unwatchMetrics(): Promise<void> {
  return call('unwatch_metrics');
}

export function probeAgain(service: string, hostPort: number): Promise<void> {
  return call('probe_again', { service, hostPort });
}

// The log view (src-tauri/src/logview.rs).

export function logsWatch(onStats: (stats: ViewStats) => void): Promise<void> {
  return call('logs_watch', { onStats: channel(onStats) });
}

export function logsUnwatch(): Promise<void> {
  return call('logs_unwatch');
}

export function logsSetView(filter: Filter, search: Search | null): Promise<ViewStats> {
  return call('logs_set_view', { filter, search });
}

export function logsWindow(start: number, count: number, evicted: number): Promise<Rows> {
  return call('logs_window', { start, count, evicted });
}

export function logsLineText(row: number, evicted: number): Promise<string | null> {
  return call('logs_line_text', { row, evicted });
}

export function logsFind(
  from: number,
  forward: boolean,
  evicted: number,
  length: number,
): Promise<number | null> {
  return call('logs_find', { from, forward, evicted, length });
}

export function logsExport(): Promise<string | null> {
  return call('logs_export');
}

// Projects and settings.

export function settings(): Promise<Settings> {
  return call('settings');
}

export function saveSettings(change: SettingsChange): Promise<void> {
  return call('save_settings', { change });
}

/** Opens compose files the user picks; false when they cancel. */
export function openProjectDialog(): Promise<boolean> {
  return call('open_project_dialog');
}

export function openRecent(index: number): Promise<void> {
  return call('open_recent', { index });
}

export function setProfiles(profiles: string[]): Promise<void> {
  return call('set_profiles', { profiles });
}

/** Opens an http(s) URL in the default browser (the shell plugin's `open`, which the
 * capability restricts to http and https). */
export function openUrl(url: string): Promise<void> {
  return call('plugin:shell|open', { path: url });
}

// Looking into a service.

/** The open project's service: its configuration as loaded and each container as the engine
 * reports it. */
export function inspectService(service: string): Promise<ServiceInspect> {
  return call('inspect_service', { service });
}

/** Directory `path` of the service's running container. */
export function filesList(service: string, path: string): Promise<DirListing> {
  return call('files_list', { service, path });
}

/** Saves file `path` of the service's container where the user picks; the path written, or
 * null when they cancel. */
export function filesSave(service: string, path: string): Promise<string | null> {
  return call('files_save', { service, path });
}

// Terminals (src-tauri/src/commands/terminal.rs): a shell in a service's container.

/** What a terminal's channel carries: its output's bytes, then, once, how it ended. */
export type TerminalMessage = ArrayBuffer | TerminalEnded;

/** Opens a shell in replica `index` of `service` with a `cols`×`rows` TTY; resolves to the
 * terminal's id. Output streams to `onOutput`; acknowledge it with `terminalAck`. */
export function terminalOpen(
  service: string,
  index: number,
  cols: number,
  rows: number,
  onOutput: (message: TerminalMessage) => void,
): Promise<number> {
  return call('terminal_open', { service, index, cols, rows, onOutput: channel(onOutput) });
}

/** Types `data` into the terminal. */
export function terminalInput(id: number, data: string): Promise<void> {
  return call('terminal_input', { id, data });
}

export function terminalResize(id: number, cols: number, rows: number): Promise<void> {
  return call('terminal_resize', { id, cols, rows });
}

/** The page has written `bytes` more of the terminal's output (flow control). */
export function terminalAck(id: number, bytes: number): Promise<void> {
  return call('terminal_ack', { id, bytes });
}

/** Ends the terminal's shell. */
export function terminalClose(id: number): Promise<void> {
  return call('terminal_close', { id });
}

// Watch mode (compose's develop.watch): edits of the services' files reach their containers.

/** Turns watch mode on or off for `services` (empty: every service with develop.watch). On
 * first runs `up` of those services, as `docker compose watch` does, streaming its progress. */
export function setWatch(
  services: string[],
  on: boolean,
  onProgress: (event: ProgressEvent) => void,
): Promise<void> {
  return call('set_watch', { services, on, onProgress: channel(onProgress) });
}

// Lifecycle markers in the log (issue 17).

/** The nearest marker row after `from` (forward) or before it, as `logsFind` finds a match. */
export function logsFindMarker(
  from: number,
  forward: boolean,
  evicted: number,
  length: number,
): Promise<number | null> {
  return call('logs_find_marker', { from, forward, evicted, length });
}

/** Sets `service`'s alert rule: its log lines matching the regex `pattern` are notified (at most
 * one notification every 30 s). An empty pattern removes it; an invalid regex is refused. */
export function setAlert(service: string, pattern: string): Promise<void> {
  return call('set_alert', { service, pattern });
}

// The projects list (src-tauri/src/commands/projects.rs): every compose project on the engine.

/** Sends the engine's projects once listed, then after each change, while the window is shown. */
export function watchProjects(onProjects: (view: ProjectsView) => void): Promise<void> {
  return call('watch_projects', { onProjects: channel(onProjects) });
}

export function unwatchProjects(): Promise<void> {
  return call('unwatch_projects');
}

/** Opens a project of the engine with the files and profiles its containers were started with. */
export function openListedProject(name: string): Promise<void> {
  return call('open_listed_project', { name });
}

/** The Docker contexts, as `docker context ls` lists them. */
export function dockerContexts(): Promise<ContextInfo[]> {
  return call('docker_contexts');
}

// Docker Swarm (src-tauri/src/commands/swarm.rs): the Swarm stack open in the Swarm view.

/** The engine's part in a Swarm; null when it is in none (or not connected). */
export function swarmInfo(): Promise<SwarmRole | null> {
  return call('swarm_info');
}

/** Opens Swarm stack `stack` in the Swarm view; its view streams to `onView`. */
export function swarmOpen(stack: string, onView: (view: SwarmView) => void): Promise<void> {
  return call('swarm_open', { stack, onView: channel(onView) });
}

/** Closes the Swarm view; the log viewer shows the project's logs again. */
export function swarmClose(): Promise<void> {
  return call('swarm_close');
}

/** The log viewer shows the open Swarm stack's service logs (true) or the project's. */
export function swarmLogs(on: boolean): Promise<void> {
  return call('swarm_logs', { on });
}

/** Deploys the open project to the open Swarm stack, streaming progress; resolves with the
 * warnings about keys Swarm ignores. */
export function swarmDeploy(onProgress: (event: ProgressEvent) => void): Promise<string[]> {
  return call('swarm_deploy', { onProgress: channel(onProgress) });
}

/** Sets the replicas of the open stack's replicated service (its Swarm name). */
export function swarmScale(service: string, replicas: number): Promise<void> {
  return call('swarm_scale', { service, replicas });
}

export function swarmRollback(service: string): Promise<void> {
  return call('swarm_rollback', { service });
}

/** Removes the open Swarm stack (`docker stack rm`); the page confirms first. */
export function swarmRemove(onProgress: (event: ProgressEvent) => void): Promise<void> {
  return call('swarm_remove', { onProgress: channel(onProgress) });
}

// The stored log history (src-tauri/src/logview.rs).

/** Prepends a page of the project's older stored log lines to the view (`page`), or only
 * reports it. */
export function logsOlder(page: boolean): Promise<ViewStats> {
  return call('logs_older', { page });
}

/** The stacks a Swarm notification's Show asks the window to open in the Swarm view. */
export function swarmReveals(onReveal: (stack: string) => void): Promise<void> {
  return call('swarm_reveals', { onReveal: channel(onReveal) });
}

// The tray (src-tauri/src/tray/).

/** The tray's Logs clicks: a service whose logs to show once its project is shown. */
export function watchLogRequests(onRequest: (request: LogRequest) => void): Promise<void> {
  return call('watch_log_requests', { onRequest: channel(onRequest) });
}
