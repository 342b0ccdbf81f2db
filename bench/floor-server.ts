#!/usr/bin/env node
/**
 * The raw floor for calibration: a bare node:http server with no framework, no bus, no history, no
 * validation, pushing over one transport given as the first argument:
 * - `ws`: every WebSocket gets each POSTed body as a text frame;
 * - `sse`: every `GET /sse` stream gets it as one `data:` event;
 * - `stomp`: every WebSocket that sent CONNECT and SUBSCRIBE gets it as a STOMP MESSAGE frame.
 * `POST /publish` pushes the request body as is and answers 204. Prints {"url", "pid"}; exits when
 * its standard input closes.
 */
import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

const kind = process.argv[2] ?? 'ws';
if (kind !== 'ws' && kind !== 'sse' && kind !== 'stomp') throw new Error(`floor server: unknown kind ${kind} (ws, sse, stomp)`);

const push = new Set<(body: Buffer) => void>();
let messageId = 0;

const server = http.createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/sse' && kind === 'sse') {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    response.flushHeaders();
    const send = (body: Buffer): void => void response.write(`data: ${body.toString()}\n\n`);
    push.add(send);
    request.on('close', () => push.delete(send));
    return;
  }
  if (request.method !== 'POST') {
    response.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    messageId++;
    for (const send of push) send(body);
    response.writeHead(204).end();
  });
});

if (kind !== 'sse') {
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (socket: WebSocket) => {
    if (kind === 'ws') {
      const send = (body: Buffer): void => socket.send(body, { binary: false });
      push.add(send);
      socket.on('close', () => push.delete(send));
      return;
    }
    // STOMP: answer CONNECT, then push to the subscription id the client chose.
    let send: ((body: Buffer) => void) | null = null;
    socket.on('message', (data) => {
      const frame = data.toString();
      if (frame.startsWith('CONNECT') || frame.startsWith('STOMP')) socket.send('CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\0');
      else if (frame.startsWith('SUBSCRIBE')) {
        const id = /\nid:([^\n]*)/.exec(frame)?.[1] ?? '0';
        send = (body) => socket.send(`MESSAGE\ndestination:/topic/floor\nsubscription:${id}\nmessage-id:${messageId}\ncontent-type:text/plain\ncontent-length:${body.length}\n\n${body.toString()}\0`);
        push.add(send);
      }
    });
    socket.on('close', () => send && push.delete(send));
  });
}

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
});
process.stdin.on('end', () => process.exit(0)).resume();
process.on('SIGTERM', () => process.exit(0));
