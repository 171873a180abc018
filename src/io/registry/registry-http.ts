/**
 * One request to a registry or its token server, over Node's https: the status, the headers,
 * the body (capped: a manifest is at most 4 MiB in distribution). A socket error rejects with
 * its `code` kept, for core/image/pull-failure.ts to classify. No keep-alive: a resolution is a handful of requests.
 */
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import type { RegistryTrust } from "./registry-tls.js";

export interface RegistryRequest {
  readonly url: URL;
  readonly method: "GET" | "HEAD" | "POST";
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly trust: RegistryTrust;
  readonly timeoutMs: number;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every `WWW-Authenticate` header, each as sent. */
  readonly challenges: readonly string[];
  readonly body: Buffer;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export const sendRegistryRequest = (r: RegistryRequest): Promise<RegistryResponse> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string> = { "User-Agent": "srun-docker", ...r.headers };
    if (r.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(r.body));
    const req = request(
      r.url,
      {
        method: r.method,
        headers,
        agent: false,
        timeout: r.timeoutMs,
        ca: [...r.trust.ca],
        cert: r.trust.cert,
        key: r.trust.key,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES)
            req.destroy(new Error(`the answer from ${r.url.host} is over ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            challenges: res.headersDistinct["www-authenticate"] ?? [],
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("timeout", () => {
      const error = Object.assign(new Error(`no answer from ${r.url.host} within ${r.timeoutMs} ms`), {
        code: "ETIMEDOUT",
      });
      req.destroy(error);
    });
    req.on("error", reject);
    req.end(r.body);
  });
