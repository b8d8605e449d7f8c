import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { type HttpServerHandle, requestUrl, serve } from "../src/node-http";

const FALLBACK = "http://127.0.0.1:7000";
const incoming = (url: string, host?: string) => ({ url, headers: host === undefined ? {} : { host } }) as unknown as IncomingMessage;

/** One raw HTTP/1.1 exchange: the Host header and target go on the wire exactly as given. */
function rawExchange(port: number, target: string, host: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
    socket.on("error", () => resolve("socket error"));
  });
}

describe("requestUrl", () => {
  it("resolves a target exactly as the URL parser does, whether or not it takes the plain-target shortcut", () => {
    // Prepare: targets built from the characters that matter for paths (dots, escapes, slashes, queries).
    const segment = fc.stringMatching(/^[A-Za-z0-9._~%?=&/\\-]{0,12}$/);
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (parts) => {
        const target = `/${parts.join("/")}`;
        // Act
        const url = requestUrl(incoming(target, "gw.example:8080"), FALLBACK);
        // Assess
        let expected: string | undefined;
        try {
          expected = new URL(`http://gw.example:8080${target}`).href;
        } catch {
          expected = undefined;
        }
        expect(url === undefined ? undefined : new URL(url).href).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps the origin of a valid Host header and falls back to the listening address otherwise", () => {
    expect(requestUrl(incoming("/a", "gw.example:8080"), FALLBACK)).toBe("http://gw.example:8080/a");
    expect(requestUrl(incoming("/a", "[::1]:8080"), FALLBACK)).toBe("http://[::1]:8080/a");
    for (const host of ["a b", "x/y", "exa%mple", "[::1", "host:port"]) {
      expect(requestUrl(incoming("/a", host), FALLBACK)).toBe(`${FALLBACK}/a`);
    }
    expect(requestUrl(incoming("/a"), FALLBACK)).toBe(`${FALLBACK}/a`);
  });

  it("reads a target starting with // as a path, never as another host", () => {
    expect(requestUrl(incoming("//evil.example/x", "gw.example"), FALLBACK)).toBe("http://gw.example//evil.example/x");
    expect(requestUrl(incoming("//evil.example/../x", "gw.example"), FALLBACK)).toBe("http://gw.example//x");
  });

  it("takes absolute-form targets as the URL they name, and refuses anything else that is not a path", () => {
    expect(requestUrl(incoming("http://other.example/endpoint/a/b/v1/models", "gw.example"), FALLBACK)).toBe(
      "http://other.example/endpoint/a/b/v1/models",
    );
    expect(requestUrl(incoming("*", "gw.example"), FALLBACK)).toBeUndefined();
    expect(requestUrl(incoming("file:///etc/passwd", "gw.example"), FALLBACK)).toBeUndefined();
  });
});

describe("node:http runtime with hostile request heads", () => {
  let server: HttpServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("answers requests with an unparseable Host header and stays up (it once crashed the process)", async () => {
    // Prepare
    server = await serve(async (request) => new Response(new URL(request.url).pathname), { port: 0 });
    const port = Number(new URL(server.url).port);

    // Act
    const answers: string[] = [];
    for (const host of ["a b", "x/y", "[::1", "ok.example"]) answers.push(await rawExchange(port, "/hello", host));
    const asterisk = await rawExchange(port, "*", "ok.example");

    // Assess
    expect(answers).toEqual(Array(4).fill("HTTP/1.1 200 OK"));
    expect(asterisk).toBe("HTTP/1.1 400 Bad Request");
  });
});
