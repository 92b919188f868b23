/**
 * Plugins started as managed are killed when the host goes: on normal exit
 * and on SIGINT/SIGTERM. go-plugin's CleanupClients needs an explicit call;
 * here the handlers install themselves with the first managed plugin.
 */
const live = new Set<{ kill(): Promise<void>; killNow(): void }>();
let installed = false;

export function manage(client: { kill(): Promise<void>; killNow(): void }): () => void {
  live.add(client);
  install();
  return () => live.delete(client);
}

/** Kills every managed plugin gracefully (Shutdown, then SIGKILL after 2 s). */
export async function cleanupClients(): Promise<void> {
  await Promise.allSettled([...live].map((c) => c.kill()));
}

function install(): void {
  if (installed) return;
  installed = true;
  // On exit only synchronous work runs: no Shutdown RPC, straight to SIGKILL.
  process.on('exit', () => {
    for (const c of live) c.killNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      void cleanupClients().finally(() => {
        process.off(signal, onSignal);
        // Someone else handles this signal: leave the decision to them.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    };
    process.on(signal, onSignal);
  }
}
