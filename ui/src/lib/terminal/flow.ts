// Flow control, the page's half (xterm.js's "flow control" guide, with watermarks): the shell
// counts the bytes it sent that the page has not acknowledged and stops reading the exec past a
// high watermark (src-tauri/src/terminal.rs), so a 50 MB `cat` waits in the container's pipe,
// not in the page's memory. The page acknowledges bytes once xterm.js has written them.

/** Bytes written before they are acknowledged: one call per this many, not one per write. The
 * shell resumes reading below its low watermark, which is at least this. */
export const ACK_EVERY = 128 * 1024;

export class Acks {
  private pending = 0;

  /** `send` acknowledges bytes, or returns false when it cannot yet (the output came before
   * the terminal's id): they are sent with the next. */
  constructor(private readonly send: (bytes: number) => boolean) {}

  /** xterm.js has written `bytes` more. */
  written(bytes: number) {
    this.pending += bytes;
    if (this.pending >= ACK_EVERY && this.send(this.pending)) this.pending = 0;
  }
}
