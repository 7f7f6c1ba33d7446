// The keys a terminal keeps from the shell, as Linux terminals (GNOME Terminal, VS Code's) do:
// Ctrl+C, Ctrl+V and Ctrl+W belong to the shell, so copy, paste and closing the tab take Shift too.

export type TerminalKey = 'copy' | 'paste' | 'close' | 'next-tab' | 'previous-tab';

export interface KeyPress {
  type: string;
  key: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/** What `e` asks of the window rather than of the shell, if anything. */
export function terminalKey(e: KeyPress): TerminalKey | null {
  if (e.type !== 'keydown' || e.altKey || e.metaKey) return null;
  const key = e.key.toLowerCase();
  if (e.ctrlKey && e.shiftKey) {
    if (key === 'c') return 'copy';
    if (key === 'v') return 'paste';
    if (key === 'w') return 'close';
  }
  if (e.ctrlKey && !e.shiftKey && key === 'insert') return 'copy';
  if (e.shiftKey && !e.ctrlKey && key === 'insert') return 'paste';
  if (e.ctrlKey && !e.shiftKey && key === 'pagedown') return 'next-tab';
  if (e.ctrlKey && !e.shiftKey && key === 'pageup') return 'previous-tab';
  return null;
}
