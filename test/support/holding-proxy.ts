import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy in front of an HTTP server (MinIO) that can hold chosen responses mid-transfer: a
 * download that has started and then gets no more bytes, for as long as a test needs to kill or
 * stop the process doing it. Everything else passes through untouched.
 */
export interface HoldingProxy {
  /** http://127.0.0.1:<port>: give it to the process under test as its S3 endpoint. */
  address: string;
  /**
   * From now on, every request whose request line ("GET /bucket/key?… HTTP/1.1") matches gets
   * the first `afterBytes` bytes of its response, then nothing until released.
   */
  hold(match: RegExp, afterBytes: number): Hold;
  close(): Promise<void>;
}

export interface Hold {
  /** Responses held right now (their connections still open). */
  holding(): number;
  /** Lets the held responses go on and stops holding new ones. */
  release(): void;
}

interface HoldRule {
  match: RegExp;
  afterBytes: number;
  held: Set<Pipe>;
  released: boolean;
}

/** The server-to-client direction of one connection. */
interface Pipe {
  rule?: HoldRule;
  /** Bytes of the held response let through so far. */
  sent: number;
  resume(): void;
}

const REQUEST_LINE = /^(GET|HEAD|PUT|POST|DELETE|OPTIONS|PATCH) \S+ HTTP\/1\.[01]\r\n/;

export async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const { hostname, port } = new URL(target);
  const rules: HoldRule[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    const pipe: Pipe = { sent: 0, resume: () => upstream.resume() };
    let queued: Buffer[] = [];

    client.on('data', (chunk: Buffer) => {
      // A chunk that starts with a request line starts a new request on this connection.
      const head = REQUEST_LINE.exec(chunk.subarray(0, 2048).toString('latin1'));
      if (head) {
        const rule = rules.find((r) => !r.released && r.match.test(head[0]));
        pipe.rule = rule;
        pipe.sent = 0;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());

    const flush = (): void => {
      for (const chunk of queued) client.write(chunk);
      queued = [];
    };
    pipe.resume = () => {
      flush();
      upstream.resume();
    };
    upstream.on('data', (chunk: Buffer) => {
      const rule = pipe.rule;
      if (!rule || rule.released) {
        if (!client.write(chunk)) upstream.pause();
        return;
      }
      const room = Math.max(0, rule.afterBytes - pipe.sent);
      if (room > 0) client.write(chunk.subarray(0, room));
      pipe.sent += Math.min(room, chunk.length);
      if (chunk.length > room) {
        queued.push(chunk.subarray(room));
        upstream.pause();
        rule.held.add(pipe);
      }
    });
    client.on('drain', () => {
      if (!pipe.rule || pipe.rule.released) upstream.resume();
    });

    const end = (): void => {
      pipe.rule?.held.delete(pipe);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');

  return {
    address: `http://127.0.0.1:${address.port}`,
    hold(match, afterBytes) {
      const rule: HoldRule = { match, afterBytes, held: new Set(), released: false };
      rules.push(rule);
      return {
        holding: () => rule.held.size,
        release() {
          rule.released = true;
          for (const pipe of rule.held) pipe.resume();
          rule.held.clear();
        },
      };
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
