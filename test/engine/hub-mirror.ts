import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import path from "node:path";

/**
 * A local stand-in for the HuggingFace hub, with its URL layout and headers: GET /<org>/<name>/resolve/<rev>/<file>
 * answers the file with ETag (quoted sha256, as for LFS files), X-Repo-Commit (the commit the revision resolves
 * to), Content-Length, 206 Partial Content for a Range request, and 404 for a missing repo, revision or file.
 * Files of LFS_MIN_SIZE bytes or more are answered as the hub answers LFS files: 302 to a CDN URL
 * (/cdn/<repo>/<commit>/<file>) with X-Repo-Commit, X-Linked-Etag and X-Linked-Size; the CDN serves the bytes
 * (with Range) under an ETag of its own and no X-Repo-Commit.
 */
export const LFS_MIN_SIZE = 100_000;
export interface HubMirror {
  server: Server;
  url: string;
  requests: { url: string; headers: IncomingHttpHeaders }[];
  /** Files answered with 503. */
  failing: Set<string>;
  /** Files whose next response is cut off (socket destroyed) after this many bytes. */
  cutAfter: Map<string, number>;
  /** Files whose bytes are replaced by these (a tampered mirror). */
  tampered: Map<string, Buffer>;
  close(): Promise<void>;
}

export interface MirrorRepo {
  /** Repo id, org/name. */
  id: string;
  dir: string;
  /** Branch or tag names -> commit; the commit itself is always a valid revision. */
  commit: string;
  branches?: string[];
}

export function startHubMirror(repos: MirrorRepo[]): Promise<HubMirror> {
  const mirror: Omit<HubMirror, "server" | "url" | "close"> = {
    requests: [],
    failing: new Set(),
    cutAfter: new Map(),
    tampered: new Map(),
  };
  const server = createServer((request, response) => {
    mirror.requests.push({ url: request.url!, headers: request.headers });
    const cdn = /^\/cdn\/([^/]+\/[^/]+)\/[0-9a-f]{40}\/(.+)$/.exec(request.url!);
    const match = cdn
      ? [cdn[0], cdn[1], repos.find((r) => r.id === cdn[1])?.commit ?? "-", cdn[2]]
      : /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(request.url!);
    const repo = match && repos.find((r) => r.id === match[1]);
    const revision = match && decodeURIComponent(match[2]!);
    const file = match?.[3];
    if (!repo || !file || (revision !== repo.commit && !(repo.branches ?? ["main"]).includes(revision!))) {
      response.writeHead(404, { "x-error-code": repo ? "RevisionNotFound" : "RepoNotFound" }).end();
      return;
    }
    if (mirror.failing.has(file)) {
      response.writeHead(503).end();
      return;
    }
    const filePath = path.join(repo.dir, file);
    if (!isFile(filePath) || file.split("/").includes("..")) {
      response.writeHead(404, { "x-error-code": "EntryNotFound", "x-repo-commit": repo.commit }).end();
      return;
    }
    const bytes = mirror.tampered.get(file) ?? readFileSync(filePath);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    if (!cdn && bytes.length >= LFS_MIN_SIZE) {
      response
        .writeHead(302, {
          location: `/cdn/${repo.id}/${repo.commit}/${file}`,
          "x-repo-commit": repo.commit,
          "x-linked-etag": `"${sha256}"`,
          "x-linked-size": bytes.length,
        })
        .end();
      return;
    }
    const headers = cdn
      ? { etag: `"cdn-${sha256.slice(0, 16)}"`, "accept-ranges": "bytes" }
      : { etag: `"${sha256}"`, "x-repo-commit": repo.commit, "accept-ranges": "bytes" };
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? "");
    const start = range ? Number(range[1]) : 0;
    if (start >= bytes.length && range) {
      response.writeHead(416, { ...headers, "content-range": `bytes */${bytes.length}` }).end();
      return;
    }
    const body = bytes.subarray(start);
    response.writeHead(range ? 206 : 200, {
      ...headers,
      "content-length": body.length,
      ...(range && { "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}` }),
    });
    const cut = mirror.cutAfter.get(file);
    if (cut !== undefined) {
      mirror.cutAfter.delete(file);
      // Let the client take the first bytes in before the connection drops.
      response.write(body.subarray(0, cut), () => setTimeout(() => response.destroy(), 300));
      return;
    }
    response.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as { port: number };
      resolve({
        ...mirror,
        server,
        url: `http://127.0.0.1:${address.port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    }),
  );
}

/** Every file under a folder, relative paths. */
export function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(dir, path.join(prefix, entry.name)) : [path.join(prefix, entry.name)],
  );
}

function isFile(filePath: string): boolean {
  try {
    return statSync(filePath).isFile();
  } catch {
    return false;
  }
}
