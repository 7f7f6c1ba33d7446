// What the user types, sent in order. Each send is an IPC call of its own, and the app runs
// calls concurrently: two keys sent at once may reach the shell swapped ("eoch" for "echo", seen
// under load). So one call is in flight at a time, and what is typed meanwhile goes with the next.

export class Input {
  private inFlight = false;
  private waiting = '';

  /** `send` writes to the shell; a failed send is dropped (the tab tells the shell's end). */
  constructor(private readonly send: (data: string) => Promise<void>) {}

  type(data: string) {
    this.waiting += data;
    if (!this.inFlight) this.next();
  }

  private next() {
    const data = this.waiting;
    this.waiting = '';
    this.inFlight = data !== '';
    if (!this.inFlight) return;
    this.send(data)
      .catch(() => {})
      .finally(() => this.next());
  }
}
