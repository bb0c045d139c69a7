// Memory held by request bodies: a waiting request's body stays in the kernel (Node's paused-socket race is
// worked around, on a real socket), and the read buffers received bodies leave are collected young.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { BodyGarbage, youngCollection } from '../../src/server/body-garbage.js';
import { keepPausedSocketsStopped } from '../../src/server/hardening.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a request waiting with its body unread', () => {
  test('keeps its body in the kernel when it follows another body in the same socket read', async () => {
    const first = Buffer.alloc(3_000_000, 1);
    const second = Buffer.alloc(6_000_000, 2);
    const waiting: IncomingMessage[] = [];
    let n = 0;
    const server = createServer((req, res) => {
      if (++n === 1) {
        // answered at once, its body read slowly (as refused bodies are)
        res.end('first');
        req.on('data', () => {
          req.pause();
          setTimeout(() => req.resume(), 20);
        });
        return;
      }
      waiting.push(req); // left unread, as a request waiting for admission
      req.on('end', () => res.end('second'));
    });
    keepPausedSocketsStopped(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    try {
      let answers = '';
      socket.on('data', (d: Buffer) => (answers += d.toString('latin1')));
      const head = (len: number) => Buffer.from(`POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: ${len}\r\n\r\n`);
      // one write: the first body's end and the second request arrive in the same read
      socket.write(Buffer.concat([head(first.length), first, head(second.length), second]));
      for (let i = 0; i < 200 && waiting.length === 0; i++) await sleep(10);
      assert.equal(waiting.length, 1, 'the second request arrived');
      await sleep(600);
      const req = waiting[0]!;
      assert.ok(req.readableLength < 512 * 1024, `the waiting request buffered ${req.readableLength} bytes of its 6 MB body`);
      assert.equal(req.complete, false);
      req.resume(); // admitted: now read, and the whole body arrives
      for (let i = 0; i < 500 && !answers.includes('second'); i++) await sleep(10);
      assert.match(answers, /first[\s\S]*second/);
    } finally {
      socket.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('BodyGarbage', () => {
  test('collects after every `everyBytes` received, never with 0', () => {
    let calls = 0;
    const g = new BodyGarbage(1000, () => calls++);
    for (let i = 0; i < 35; i++) g.received(100);
    assert.equal(calls, 3);
    assert.equal(g.collections, 3);
    const off = new BodyGarbage(0, () => calls++);
    off.received(1e9);
    assert.equal(calls, 3);
  });

  test("V8's young-generation collection is reached and frees dead read buffers", async () => {
    const collect = youngCollection();
    assert.ok(collect, 'gc reachable');
    collect();
    const base = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 400; i++) Buffer.allocUnsafeSlow(64 * 1024).fill(i); // 26 MB of dead 64 KB buffers
    collect();
    await sleep(50);
    const left = process.memoryUsage().arrayBuffers - base;
    assert.ok(left < 8 * 1024 * 1024, `${(left / 1e6).toFixed(1)} MB of dead buffers left after the collection`);
  });
});
