// An action's progress as the header shows it: one line per resource with its latest status,
// like `docker compose up` prints, and what the action waits for.
import type { ProgressEvent } from '../bindings/ProgressEvent';

export interface ProgressLine {
  key: string;
  text: string;
  status: string;
}

/** What a `depends_on` condition waits for, in words. */
const GOALS: Record<string, string> = {
  service_healthy: 'to be healthy',
  service_completed_successfully: 'to complete',
};

export class ProgressBoard {
  private lines = new Map<string, ProgressLine>();
  warnings: string[] = [];

  /** A new board with `event` applied: Svelte redraws on a new value, not on a mutation. */
  with(event: ProgressEvent): ProgressBoard {
    const next = new ProgressBoard();
    next.lines = new Map(this.lines);
    next.warnings = [...this.warnings];
    next.apply(event);
    return next;
  }

  apply(event: ProgressEvent): void {
    switch (event.kind) {
      case 'resource':
        this.set(`${event.resource} ${event.name}`, `${event.resource} ${event.name}`, event.status);
        break;
      case 'layer': {
        const amount =
          event.current !== null && event.total !== null && event.total > 0
            ? ` ${mb(event.current)}/${mb(event.total)} MB`
            : '';
        this.set(`Image ${event.image}`, `Image ${event.image}`, `${event.layer} ${event.status}${amount}`);
        break;
      }
      case 'waiting': {
        const goal = GOALS[event.condition] ?? 'to start';
        this.set(`Service ${event.service}`, event.service, `waiting for ${event.dependency} ${goal}`);
        break;
      }
      case 'build_output':
        this.set(`Build ${event.service}`, `Build ${event.service}`, event.line);
        break;
      case 'warning':
        this.warnings.push(event.message);
        break;
    }
  }

  private set(key: string, text: string, status: string): void {
    this.lines.set(key, { key, text, status });
  }

  /** Lines in the order their resources first appeared. */
  get list(): ProgressLine[] {
    return [...this.lines.values()];
  }

  /** The line that says what the action is doing now: the newest one not yet finished. */
  get current(): string {
    const busy = this.list.filter((l) => /ing$|^waiting/.test(l.status));
    const line = busy.at(-1) ?? this.list.at(-1);
    return line ? `${line.text} ${line.status}` : '';
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
