// The terminal tabs beside the logs: which are open, what each is called and which one shows
// (null: the logs).

export interface TerminalTab {
  key: number;
  service: string;
  /** The replica, 1-based as in compose's `--index` and the container's name. */
  index: number;
  /** `service-N`, as the container's name ends; a second terminal on it adds ` (2)`. */
  name: string;
  /** How its shell ended (`exited (3)`, `container stopped`), or why it did not start. */
  ended: string | null;
}

export class Tabs {
  list = $state<TerminalTab[]>([]);
  active = $state<number | null>(null);
  private next = 1;

  /** Opens a tab on replica `index` of `service` and shows it. */
  open(service: string, index: number): TerminalTab {
    const base = `${service}-${index}`;
    const taken = new Set(this.list.map((t) => t.name));
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base} (${n})`;
    const tab: TerminalTab = { key: this.next++, service, index, name, ended: null };
    this.list.push(tab);
    this.active = tab.key;
    // The list's own (reactive) copy, so what the caller changes shows.
    return this.list[this.list.length - 1];
  }

  show(key: number | null) {
    this.active = key;
  }

  /** Closes a tab; when it was shown, the one after it shows (else before it, else the logs). */
  close(key: number) {
    const at = this.list.findIndex((t) => t.key === key);
    if (at < 0) return;
    this.list.splice(at, 1);
    if (this.active === key) {
      this.active = (this.list[at] ?? this.list[at - 1])?.key ?? null;
    }
  }

  /** Shows the next (`1`) or previous (`-1`) tab, the logs first, going round. */
  step(by: 1 | -1) {
    const keys = [null, ...this.list.map((t) => t.key)];
    const at = keys.indexOf(this.active);
    this.active = keys[(at + by + keys.length) % keys.length];
  }
}
