/**
 * A registry's `WWW-Authenticate` challenges (RFC 7235) and the token request they ask for,
 * as distribution's auth and Docker Hub speak them:
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"
 *   Basic realm="Registry Realm"
 */
export interface AuthChallenge {
  /** Lower case: `bearer`, `basic`. */
  readonly scheme: string;
  /** Parameter names in lower case, values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;

/**
 * Every challenge in the header values (one header may hold several, comma-separated, and a
 * response may carry several headers). What cannot be read is skipped, not guessed at.
 */
export function parseAuthChallenges(headers: readonly string[]): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  for (const header of headers) {
    let rest = header.trim();
    let current: { scheme: string; params: Record<string, string> } | undefined;
    while (rest !== "") {
      rest = rest.replace(/^[\s,]+/, "");
      const name = TOKEN.exec(rest)?.[0];
      if (name === undefined) break;
      const afterName = rest.slice(name.length).trimStart();
      if (afterName.startsWith("=") && current !== undefined) {
        const value = readValue(afterName.slice(1).trimStart());
        if (value === undefined) break;
        current.params[name.toLowerCase()] = value.value;
        rest = value.rest;
      } else {
        current = { scheme: name.toLowerCase(), params: {} };
        challenges.push(current);
        rest = afterName;
      }
    }
  }
  return challenges;
}

/** A quoted string (with `\` escapes) or a token, and what follows it. */
function readValue(text: string): { value: string; rest: string } | undefined {
  if (!text.startsWith('"')) {
    const token = /^[^\s,]*/.exec(text)?.[0] ?? "";
    return { value: token, rest: text.slice(token.length) };
  }
  let value = "";
  for (let i = 1; i < text.length; i++) {
    const char = text[i];
    if (char === "\\") value += text[++i] ?? "";
    else if (char === '"') return { value, rest: text.slice(i + 1) };
    else value += char;
  }
  return undefined;
}

/** The scope a pull needs: `repository:library/ubuntu:pull`. */
export function pullScope(repositoryPath: string): string {
  return `repository:${repositoryPath}:pull`;
}

/**
 * Where to ask for a bearer token: the realm with the service and the pull scope (the
 * challenge's own scope too, when it names another one). Undefined when the realm is no
 * https/http URL, which is not a challenge to follow.
 */
export function tokenRequestUrl(challenge: AuthChallenge, repositoryPath: string): URL | undefined {
  const realm = challenge.params.realm;
  if (realm === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  const service = challenge.params.service;
  if (service !== undefined) url.searchParams.set("service", service);
  const scopes = [pullScope(repositoryPath)];
  const asked = challenge.params.scope;
  if (asked !== undefined && !scopes.includes(asked)) scopes.push(asked);
  for (const scope of scopes) url.searchParams.append("scope", scope);
  return url;
}

/** The form an identity token (an OAuth2 refresh token from `docker login`) is exchanged with. */
export function refreshTokenForm(challenge: AuthChallenge, repositoryPath: string, refreshToken: string): string {
  const form = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: refreshToken,
    service: challenge.params.service ?? "",
    scope: pullScope(repositoryPath),
    client_id: "srun-docker",
  });
  return form.toString();
}

/** The token from a token server's answer (`token`, or OAuth2's `access_token`). */
export function readToken(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { token?: unknown; access_token?: unknown };
    const token = typeof parsed.token === "string" && parsed.token !== "" ? parsed.token : parsed.access_token;
    return typeof token === "string" && token !== "" ? token : undefined;
  } catch {
    return undefined;
  }
}
