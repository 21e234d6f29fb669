/**
 * A lean HTTP/1.1 keep-alive client for the benchmarks' measured requests (the fan-out's long-polls,
 * the serial sends). A thousand clients answering 5,000 responses a second through undici took most
 * of a core on a 2-core machine, competing with the server it measures; and a serial send through
 * `fetch` took 0.3–1.3 ms longer per measured send than this client. This one only writes the
 * request line, headers and body, and reads a response with a Content-Length (what the server sends
 * for JSON). Anything else fails loudly.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  body: string;
}

export class KeepAliveConnection {
  readonly #socket: Socket;
  readonly #host: string;
  #buffer: Buffer = Buffer.alloc(0);
  #pending: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined;
  #failed: Error | undefined;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.#host = `${hostname}:${port}`;
    this.#socket = connect({ host: hostname, port: Number(port), noDelay: true });
    this.#socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    const fail = (err: Error) => {
      this.#failed ??= err;
      this.#pending?.reject(err);
      this.#pending = undefined;
    };
    this.#socket.on('error', fail);
    this.#socket.on('close', () => fail(new Error('connection closed')));
  }

  /** One request at a time per connection (no pipelining). */
  get(path: string, token: string): Promise<RawResponse> {
    return this.#request(`GET ${path} HTTP/1.1\r\nHost: ${this.#host}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  }

  /** A PUT with a JSON body. */
  put(path: string, token: string, json: unknown): Promise<RawResponse> {
    const body = JSON.stringify(json);
    return this.#request(
      `PUT ${path} HTTP/1.1\r\nHost: ${this.#host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  #request(text: string): Promise<RawResponse> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.#pending) return Promise.reject(new Error('a request is already in flight on this connection'));
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#socket.write(text);
    });
  }

  #parse() {
    const headerEnd = this.#buffer.indexOf('\r\n\r\n');
    if (headerEnd < 0) return;
    const head = this.#buffer.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) {
      this.#pending?.reject(new Error(`response without Content-Length: ${head.split('\r\n')[0]}`));
      this.#pending = undefined;
      this.#socket.destroy();
      return;
    }
    const end = headerEnd + 4 + Number(length[1]);
    if (this.#buffer.length < end) return;
    const body = this.#buffer.toString('utf8', headerEnd + 4, end);
    this.#buffer = this.#buffer.subarray(end);
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve({ status, body });
  }

  close(): void {
    this.#socket.destroy();
  }
}
