// The latest request wins: a panel asks again before a slow answer came (another directory,
// another service), and that answer must not replace the one asked for since.

/** A counter of requests; each call starts one and returns whether it is still the latest. */
export function latestWins(): () => () => boolean {
  let asked = 0;
  return () => {
    const ask = ++asked;
    return () => ask === asked;
  };
}
