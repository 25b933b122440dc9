// Polls until a condition holds: tests wait for behaviour, never for a fixed time.
type Falsy = undefined | null | false | 0 | '';

export async function waitFor<T>(condition: () => T | Falsy | Promise<T | Falsy>, what = 'condition', timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
