/**
 * The two ways every TypeScript side of the benchmark drives calls, host or
 * plugin, gRPC or bare socket: one at a time with each call timed, or a fixed
 * number kept in flight for a fixed time and counted. interop/go/cmd/bench-*
 * do exactly the same in Go, so both languages pay the same loop.
 */

export type Call = () => Promise<unknown>;

/** Runs `warmup` calls untimed, then `calls` calls one at a time; each duration in ns. */
export async function timeEach(call: Call, warmup: number, calls: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call();
  const samples: number[] = new Array(calls);
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    await call();
    samples[i] = Number(process.hrtime.bigint() - start);
  }
  return samples;
}

export interface Throughput {
  calls: number;
  elapsedNs: number;
}

/**
 * Keeps `inFlight` calls going (each worker starts its next call when the
 * last one answers) until `durationMs` has passed, after `warmupMs` of the
 * same untimed. Calls still running at the deadline finish and count; the
 * elapsed time includes them. With `samples`, each call's duration goes there.
 */
export async function keepInFlight(call: Call, inFlight: number, durationMs: number, warmupMs = 0, samples?: number[]): Promise<Throughput> {
  if (warmupMs > 0) await run(call, inFlight, warmupMs);
  return run(call, inFlight, durationMs, samples);
}

async function run(call: Call, inFlight: number, durationMs: number, samples?: number[]): Promise<Throughput> {
  let calls = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(durationMs * 1e6));
  const worker = async () => {
    for (let now = start; now < end; ) {
      await call();
      const done = process.hrtime.bigint();
      samples?.push(Number(done - now));
      calls++;
      now = done;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { calls, elapsedNs: Number(process.hrtime.bigint() - start) };
}
