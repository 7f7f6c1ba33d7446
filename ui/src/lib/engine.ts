import type { EngineStatus } from '../bindings/EngineStatus';

/** What the header says about the engine, and whether that is good news. */
export interface EngineBadge {
  text: string;
  detail: string;
  ok: boolean;
}

export function engineBadge(status: EngineStatus | undefined): EngineBadge {
  if (status === undefined) {
    return { text: 'Connecting…', detail: 'Looking for a Docker engine', ok: false };
  }
  if (status.state === 'connected') {
    return {
      text: `Docker ${status.version}`,
      detail: `API ${status.api_version} at ${status.endpoint}`,
      ok: true,
    };
  }
  return { text: 'Engine unavailable', detail: status.reason, ok: false };
}
