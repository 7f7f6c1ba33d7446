// The shell's commands that change things, and opening links outside the webview.
import { Channel, invoke } from '@tauri-apps/api/core';
import type { Action } from '../bindings/Action';
import type { ProgressEvent } from '../bindings/ProgressEvent';

/** Runs `action` on the stack (or on `services`), streaming its progress; rejects with the
 * engine's explanation of what failed. */
export function runAction(
  action: Action,
  services: string[],
  onProgress: (event: ProgressEvent) => void,
): Promise<void> {
  const channel = new Channel<ProgressEvent>();
  channel.onmessage = onProgress;
  return invoke('run_action', { request: { action, services }, onProgress: channel });
}

export function cancelAction(): Promise<void> {
  return invoke('cancel_action');
}

/** Opens an http(s) URL in the default browser (the shell plugin's `open`, which the
 * capability restricts to http and https). */
export function openUrl(url: string): Promise<void> {
  return invoke('plugin:shell|open', { path: url });
}
