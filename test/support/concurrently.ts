/**
 * Calls `call(0)` … `call(count − 1)` with at most `limit` in flight, each taking the next index
 * when one finishes, and answers their results in index order: for a test's calls that do not
 * depend on each other's answers, so the run waits on none of them one by one.
 */
export async function mapConcurrently<T>(count: number, limit: number, call: (n: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const runner = async () => {
    for (let n = next++; n < count; n = next++) results[n] = await call(n);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, runner));
  return results;
}
