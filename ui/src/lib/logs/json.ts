// Pretty-printing of JSON log lines for the expanded view. It re-indents the text token by
// token instead of parsing it, so what is shown is exactly what was logged: 64-bit ids, long
// decimals and duplicate keys survive (JSON.parse would round or drop them).
import { inert } from './ansi';

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/** `text` indented by two spaces per level, one member per line; its lines made inert. */
export function prettyJson(text: string): string[] {
  let out = '';
  let depth = 0;
  const newline = () => '\n' + '  '.repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (c === '{' || c === '[') {
      let j = i + 1;
      while (j < text.length && isSpace(text[j])) j++;
      if (text[j] === (c === '{' ? '}' : ']')) {
        out += c + text[j];
        i = j;
      } else {
        depth++;
        out += c + newline();
      }
    } else if (c === '}' || c === ']') {
      depth = Math.max(0, depth - 1);
      out += newline() + c;
    } else if (c === ',') {
      out += ',' + newline();
    } else if (c === ':') {
      out += ': ';
    } else if (!isSpace(c)) {
      out += c;
    }
  }
  return out.split('\n').map(inert);
}
