import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';

/**
 * Real third-party servers rtbench is measured against (the peers benchmark, the tests): RabbitMQ's
 * Web-STOMP plugin, and nginx with nchan started privately on a free port with the configuration of
 * docs/targets/nchan.md. Each says why it cannot be had on this machine, if it cannot.
 */
export const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';
export const RABBITMQ_WEB_STOMP = 'http://127.0.0.1:15674';

/** Why nginx + nchan cannot be used here, or null when it can. */
export function nchanMissing(): string | null {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    return 'nginx is not installed (apt-get install -y nginx libnginx-mod-nchan)';
  }
  return existsSync(NCHAN_MODULE) ? null : `the nchan module is not installed (${NCHAN_MODULE}; apt-get install -y libnginx-mod-nchan)`;
}

/** Why RabbitMQ Web-STOMP cannot be used here, or null when it can (its port answers). */
export async function rabbitmqMissing(): Promise<string | null> {
  const open = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: 15674 });
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
  return open ? null : 'RabbitMQ Web-STOMP is not listening on 127.0.0.1:15674 (rabbitmq-plugins enable rabbitmq_web_stomp)';
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The nchan recipe's configuration (docs/targets/nchan.md), for one instance in a scratch folder. */
function nchanConfig(port: number, prefix: string): string {
  return `load_module ${NCHAN_MODULE};
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 20000; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;   fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;   scgi_temp_path ${prefix}/tmp/scgi;
  client_max_body_size 1m;  client_body_buffer_size 1m;  keepalive_requests 1000000;
  nchan_shared_memory_size 256M;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /health { return 200 "ok\\n"; }
    location = /pub {
      nchan_publisher http;
      nchan_channel_id $arg_id;
      nchan_message_buffer_length 1000;
      nchan_message_timeout 1h;
    }
    location ~ ^/sub/([\\w-]+)$ {
      nchan_subscriber websocket eventsource longpoll;
      nchan_channel_id $1;
      nchan_subscriber_first_message newest;
    }
  }
}
`;
}

/**
 * Starts a private nginx + nchan on a free port; `stop` ends it and removes its folder. nginx runs
 * under a shell that holds our end of a pipe: when this process ends in any way (a test runner
 * killed included), the pipe closes and the shell stops nginx, so none is left behind.
 */
export async function startNchan(): Promise<{ url: string; stop(): Promise<void> }> {
  const prefix = mkdtempSync(join(tmpdir(), 'rtb-nchan-'));
  mkdirSync(join(prefix, 'tmp'));
  const port = await freePort();
  writeFileSync(join(prefix, 'nginx.conf'), nchanConfig(port, prefix));
  const watch = 'nginx -p "$1" -c "$2" & n=$!; read _; kill -TERM $n 2>/dev/null; wait $n';
  const guard = spawn('/bin/sh', ['-c', watch, 'nchan-guard', prefix, join(prefix, 'nginx.conf')], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  guard.stdin!.on('error', () => {});
  const exited = new Promise<void>((resolve) => guard.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (guard.exitCode === null && guard.signalCode === null) {
      guard.stdin!.end();
      // nginx and its shell share a process group of their own: a hung nginx goes with it.
      const force = setTimeout(() => {
        try {
          process.kill(-guard.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 3000);
      await exited;
      clearTimeout(force);
    }
    rmSync(prefix, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    try {
      const response = await request(`${url}/health`);
      await response.body.dump();
      if (response.statusCode === 200) return { url, stop };
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`nginx + nchan did not answer ${url}/health within 5 s`);
}
