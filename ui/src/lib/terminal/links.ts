// Links in terminal output, which is hostile: only http(s) addresses open, and in the user's
// browser (ipc.openUrl, the shell plugin the capability limits to http and https), never in the
// window.

/** The address a link in terminal output may open, or null: a `file:`, `javascript:` or any
 * other scheme, or text that is no URL at all. */
export function linkTarget(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.href;
}
