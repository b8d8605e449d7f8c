/** A tiny method + path-pattern router: `/v1/projects/:project/workloads/:slug`. */
export type RouteHandler<C> = (request: Request, params: Record<string, string>, context: C) => Promise<Response>;

interface Route<C> {
  method: string;
  parts: string[];
  handler: RouteHandler<C>;
}

export class Router<C> {
  private readonly routes: Route<C>[] = [];

  on(method: string, pattern: string, handler: RouteHandler<C>): this {
    this.routes.push({ method, parts: pattern.split("/").filter(Boolean), handler });
    return this;
  }

  /** The matching route, or which methods the path allows (for 405), or nothing (404). */
  match(
    method: string,
    pathname: string,
  ): { handler: RouteHandler<C>; params: Record<string, string> } | { allowed: string[] } | undefined {
    const segments = pathname.split("/").filter(Boolean);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchParts(route.parts, segments);
      if (params === undefined) continue;
      if (route.method === method) return { handler: route.handler, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}

function matchParts(parts: string[], segments: string[]): Record<string, string> | undefined {
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    let segment: string;
    try {
      segment = decodeURIComponent(segments[i] as string);
    } catch {
      return undefined;
    }
    if (part.startsWith(":")) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}
