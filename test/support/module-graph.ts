/**
 * What Node really loads when a module is imported: the graph is recorded by
 * a resolve hook in a fresh Node process, not read from the sources.
 */
import { execFileSync } from 'node:child_process';

/** Every module URL resolved while importing `url` in a new process. */
export function loadedBy(url: string): string[] {
  const hooks = `
    let port;
    export function initialize(data) { port = data.port; }
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      port.postMessage(result.url);
      return result;
    }`;
  const program = `
    import { register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const seen = new Set();
    // One port keeps order: once the marker imported last comes back, every earlier URL is in.
    const marker = 'data:text/javascript,export{}';
    const complete = new Promise((resolve) => port1.on('message', (url) => (url === marker ? resolve() : seen.add(url))));
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}), { data: { port: port2 }, transferList: [port2] });
    await import(${JSON.stringify(url)});
    await import(marker);
    await complete;
    port1.close();
    process.stdout.write(JSON.stringify([...seen]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

/** A loaded URL as a test names it: `package <name>` for node_modules, `src/<path>` for hst's compiled files, else the URL. */
export function describeModule(url: string): string {
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `package ${pkg[1]}`;
  const own = /\/dist\/src\/(.+)$/.exec(url);
  return own ? `src/${own[1]}` : url;
}
