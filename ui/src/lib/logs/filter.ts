// The viewer's filter and search controls turned into the `Filter` and `Search` Rust runs.
import type { Filter } from '../../bindings/Filter';
import type { Level } from '../../bindings/Level';
import type { Search } from '../../bindings/Search';
import type { SearchMode } from '../../bindings/SearchMode';
import type { Stream } from '../../bindings/Stream';

/** The levels a minimum can be set to, lowest first ("unknown" is not a minimum). */
export const LEVELS: readonly Level[] = [
  'trace',
  'debug',
  'info',
  'notice',
  'warn',
  'error',
  'fatal',
];

export const SEARCH_MODES: readonly { mode: SearchMode; label: string }[] = [
  { mode: 'substring', label: 'Exact text' },
  { mode: 'case_insensitive', label: 'Ignore case' },
  { mode: 'regex', label: 'Regex' },
];

export interface FilterChoice {
  /** The chosen services; empty means all. */
  services: readonly string[];
  stream: Stream | null;
  minLevel: Level | null;
}

/** The filter for a choice. Chosen services are listed in the project's order (then any the
 * project does not list), so the same subset always yields the same filter. */
export function toFilter(choice: FilterChoice, projectServices: readonly string[]): Filter {
  const chosen = new Set(choice.services);
  const ordered = projectServices.filter((s) => chosen.has(s));
  const others = [...chosen].filter((s) => !projectServices.includes(s)).sort();
  return {
    services: [...ordered, ...others],
    stream: choice.stream,
    min_level: choice.minLevel,
    since: null,
    until: null,
  };
}

/** The search for a pattern, or null when there is nothing to look for. */
export function toSearch(pattern: string, mode: SearchMode): Search | null {
  return pattern === '' ? null : { pattern, mode };
}

/** Adds `service` to the chosen subset, or removes it. */
export function toggleService(chosen: readonly string[], service: string): string[] {
  return chosen.includes(service) ? chosen.filter((s) => s !== service) : [...chosen, service];
}
