// How a lifecycle marker row is drawn: an icon and a name for each kind (the text is Rust's).
import type { Marker } from '../../bindings/Marker';

const LOOK: Record<Marker, { icon: string; name: string }> = {
  created: { icon: '✚', name: 'Created' },
  recreated: { icon: '⟳', name: 'Recreated' },
  started: { icon: '▶', name: 'Started' },
  restarted: { icon: '↻', name: 'Restarted' },
  healthy: { icon: '♥', name: 'Healthy' },
  unhealthy: { icon: '✖', name: 'Unhealthy' },
  exited: { icon: '■', name: 'Exited' },
  crashed: { icon: '✖', name: 'Crashed' },
  out_of_memory: { icon: '✖', name: 'Out of memory' },
  stopped: { icon: '■', name: 'Stopped' },
  killed: { icon: '■', name: 'Killed' },
};

export function markerLook(marker: Marker): { icon: string; name: string } {
  return LOOK[marker];
}
