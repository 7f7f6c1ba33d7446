// The viewer's keyboard shortcuts. They stay quiet while the user types in a field, except
// Ctrl/Cmd+C which only copies selected rows when no text is selected (see LogViewer).

export type Shortcut =
  | 'search'
  | 'next'
  | 'prev'
  | 'nextMarker'
  | 'prevMarker'
  | 'follow'
  | 'escape'
  | 'copy';

/** Input types that take no typing, so shortcuts still work while one has focus. */
const UNTYPED = new Set([
  'checkbox',
  'radio',
  'button',
  'submit',
  'reset',
  'range',
  'color',
  'file',
]);

/** Whether keys pressed at `target` are typed into it. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLInputElement) return !UNTYPED.has(target.type);
  return target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement;
}

export interface KeyPress {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  target: EventTarget | null;
}

export function shortcutOf(e: KeyPress): Shortcut | null {
  if (isTyping(e.target)) return null;
  if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'c') return 'copy';
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  switch (e.key) {
    case '/':
      return 'search';
    case 'n':
      return 'next';
    case 'N':
      return 'prev';
    case ']':
      return 'nextMarker';
    case '[':
      return 'prevMarker';
    case 'f':
      return 'follow';
    case 'Escape':
      return 'escape';
    default:
      return null;
  }
}
