/**
 * The plugin's environment, composed in go-plugin's order: the command's
 * own variables, then the host's (unless skipped), then the protocol's.
 * A later duplicate wins, as with Go's exec.
 */
export function composeEnv(
  commandEnv: Record<string, string> | undefined,
  hostEnv: NodeJS.ProcessEnv | undefined,
  protocolEnv: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const layer of [commandEnv ?? {}, hostEnv ?? {}, protocolEnv]) {
    for (const [k, v] of Object.entries(layer)) if (v !== undefined) env[k] = v;
  }
  return env;
}
