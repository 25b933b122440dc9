// A stop with a bound: the pipeline's stop() runs (intake first, then queues and files);
// if it has not finished when the bound passes, what it had not done yet is returned so
// the process can say what it could not flush, and exit anyway.

/** Runs `stop`; resolves with undefined once it finished, or with `pending()` when `timeoutMs` passed first. */
export async function stopWithin(stop: () => Promise<void>, pending: () => string[], timeoutMs: number): Promise<string[] | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'bound'>((resolve) => (timer = setTimeout(() => resolve('bound'), timeoutMs)));
  // A stop that throws has still ended: what it did not do is in pending().
  const done = stop().then(() => 'done' as const, () => 'done' as const);
  const first = await Promise.race([done, bound]);
  clearTimeout(timer);
  if (first === 'done') return undefined;
  const left = pending();
  return left.length ? left : ['(the stop had not finished)'];
}
