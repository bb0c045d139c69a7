// Runs Debian's nginx (unprivileged paths, foreground) with deploy/nginx/pictograph-models.conf, its upstream
// servers and listen port replaced, for the tests and the cluster bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './env.js';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/** The deploy file with `servers` (host:port) in the upstream and `listen` as the port. */
export function nginxSite(servers: string[], listen: number): string {
  const site = readFileSync(join(repoRoot, 'deploy', 'nginx', 'pictograph-models.conf'), 'utf8');
  const upstream = servers.map((s) => `    server ${s} max_fails=0;`).join('\n');
  return site
    .replace(/(upstream pictograph_models \{\n)(?:.*\n)*?(\s*keepalive)/, `$1${upstream}\n$2`)
    .replace(/listen 127\.0\.0\.1:\d+;/, `listen 127.0.0.1:${listen};`);
}

export interface RunningNginx {
  url: string;
  stop(): Promise<void>;
}

export async function startNginx(servers: string[], port: number): Promise<RunningNginx> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install nginx)');
  const dir = mkdtempSync(join(tmpdir(), 'pictograph-nginx-'));
  mkdirSync(join(dir, 'tmp'));
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'tmp'), 0o777);
  writeFileSync(join(dir, 'site.conf'), nginxSite(servers, port));
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log off;`,
      `  client_body_temp_path ${join(dir, 'tmp', 'body')};`,
      `  proxy_temp_path ${join(dir, 'tmp', 'proxy')};`,
      `  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};`,
      `  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};`,
      `  scgi_temp_path ${join(dir, 'tmp', 'scgi')};`,
      `  include ${join(dir, 'site.conf')};`,
      '}',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${readFileSync(join(dir, 'error.log'), 'utf8')}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error('nginx did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
