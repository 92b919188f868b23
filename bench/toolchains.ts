/**
 * The Go and Python toolchains the benchmark's other sides need. Go peers
 * are built from interop/go (build.sh); a missing toolchain fails the run in
 * CI (CI set), where every side must be measured, and is otherwise reported
 * and its sides left out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface Toolchains {
  go?: { bin: string; version: string };
  python?: { exe: string; version: string; grpcio: string };
  /** One line per missing toolchain: what is missing and how to get it. */
  missing: string[];
}

export function findToolchains(repo: string): Toolchains {
  const missing: string[] = [];
  const found: Toolchains = { missing };
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status === 0) {
    const dir = join(repo, 'interop', 'go');
    execFileSync('bash', [join(dir, 'build.sh')], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
    found.go = { bin: join(dir, 'bin'), version: go.stdout.trim() };
  } else {
    missing.push('Go is not installed: the ts->go, go->ts, go->go and Go floor sides are not measured');
  }
  const exe = process.env.PYTHON ?? 'python3';
  const python = spawnSync(exe, ['-c', 'import sys, grpc, grpc_health, cryptography; print(sys.version.split()[0], grpc.__version__)'], { encoding: 'utf8' });
  if (python.status === 0) {
    const [version = '', grpcio = ''] = python.stdout.trim().split(' ');
    found.python = { exe, version, grpcio };
  } else {
    missing.push(`${exe} with the SDK's packages (pip install -r sdk/python/requirements.txt) is not available: the Python plugin's start-up is not measured`);
  }
  if (process.env.CI && missing.length > 0) throw new Error(`CI needs every side measured: ${missing.join('; ')}`);
  return found;
}
