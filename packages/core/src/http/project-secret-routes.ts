import type { PlatformContext } from "../platform/context";
import { deleteProjectSecret, listProjectSecrets, ProjectSecretInputSchema, setProjectSecret } from "../project-secrets";
import type { Principal } from "../tokens";
import { parseInput } from "./control-api";
import { readJsonBody } from "./json-body";
import { json } from "./responses";
import type { Router } from "./router";

/** Room for a 16 KiB value written with JSON escapes (`\uXXXX` is six bytes for one). */
const MAX_SECRET_BODY_BYTES = 128 * 1024;

/**
 * Per-project secrets (docs/api.md, "Project secrets"): set, list (names only), delete. Registered
 * on the control API's router; answers never carry a value.
 */
export function registerProjectSecretRoutes<C extends { principal: Principal }>(router: Router<C>, ctx: PlatformContext): void {
  router
    .on("GET", "/v1/projects/:project/secrets", async (_r, p, c) =>
      json({ data: await listProjectSecrets(ctx, c.principal, p.project ?? "") }, 200, { "cache-control": "no-store" }),
    )
    .on("PUT", "/v1/projects/:project/secrets/:name", async (request, p, c) => {
      const input = parseInput(ProjectSecretInputSchema, await readJsonBody(request, MAX_SECRET_BODY_BYTES), "secret");
      const { secret, created } = await setProjectSecret(ctx, c.principal, p.project ?? "", p.name ?? "", input);
      return json(secret, created ? 201 : 200, { "cache-control": "no-store" });
    })
    .on("DELETE", "/v1/projects/:project/secrets/:name", async (_r, p, c) =>
      json(await deleteProjectSecret(ctx, c.principal, p.project ?? "", p.name ?? "")),
    );
}
