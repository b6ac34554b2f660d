/** One server-sent message: an event (`event`, `data`) or a comment line (`comment`). */
export interface SseMessage {
  event: string | undefined;
  data: string;
  comment: string | undefined;
}

/**
 * Reads a text/event-stream response body message by message, as an EventSource would, for
 * tests that call `app.request()` and need to follow a stream while acting on what it says.
 */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private done = false;

  constructor(response: Response) {
    if (!response.body) throw new Error(`response ${response.status} has no body`);
    this.reader = response.body.getReader();
  }

  /** The next message, or undefined once the server has ended the stream. */
  async next(): Promise<SseMessage | undefined> {
    for (;;) {
      const end = this.buffer.search(/\r?\n\r?\n/);
      if (end >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end).replace(/^\r?\n\r?\n/, '');
        return parse(block);
      }
      if (this.done) return undefined;
      const { done, value } = await this.reader.read();
      if (done) this.done = true;
      else this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Reads until a message matches; fails if the stream ends first. */
  async until(matches: (message: SseMessage) => boolean, seen: SseMessage[] = []): Promise<SseMessage> {
    for (;;) {
      const message = await this.next();
      if (!message) throw new Error(`stream ended before the awaited message; saw ${JSON.stringify(seen.map((m) => m.event ?? `:${m.comment}`))}`);
      seen.push(message);
      if (matches(message)) return message;
    }
  }

  /** Every message up to the end of the stream. */
  async rest(): Promise<SseMessage[]> {
    const messages: SseMessage[] = [];
    for (let m = await this.next(); m; m = await this.next()) messages.push(m);
    return messages;
  }

  /** Hangs up, as a client that goes away does. */
  async cancel(): Promise<void> {
    await this.reader.cancel();
  }
}

export function dataOf<T>(message: SseMessage): T {
  return JSON.parse(message.data) as T;
}

function parse(block: string): SseMessage {
  const message: SseMessage = { event: undefined, data: '', comment: undefined };
  const data: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    if (line.startsWith(':')) message.comment = line.slice(1).trim();
    else if (line.startsWith('event:')) message.event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  message.data = data.join('\n');
  return message;
}
