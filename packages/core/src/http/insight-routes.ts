import * as z from "zod/mini";
import "../zod";
import { ValidationError } from "../errors";
import { MAX_SERIES_RANGE_MS, projectRates, replicaHistory, workloadSeries } from "../insights";
import type { PlatformContext } from "../platform/context";
import { getProject } from "../projects";
import type { Principal } from "../tokens";
import { getWorkloadRecord } from "../workloads";
import { json } from "./responses";
import type { Router } from "./router";

/**
 * Read-only routes the console needs beside the SDK's: who a token is, a workload's replica
 * history and its per-minute series. Registered on the control API's router (docs/api.md).
 */
export function registerInsightRoutes<C extends { principal: Principal; url: URL }>(
  router: Router<C>,
  ctx: PlatformContext,
): void {
  router
    .on("GET", "/v1/whoami", async (_r, _p, c) =>
      json({
        token_id: c.principal.tokenId,
        scope: c.principal.project === undefined ? "organisation" : "project",
        project: c.principal.project ?? null,
        admin: c.principal.admin,
      }),
    )
    .on("GET", "/v1/projects/:project/workload-rates", async (_r, p, c) => {
      const project = p.project ?? "";
      await getProject(ctx, c.principal, project);
      return json({ data: await projectRates(ctx, project) });
    })
    .on("GET", "/v1/projects/:project/workloads/:slug/replicas", async (_r, p, c) => {
      const project = p.project ?? "";
      const slug = p.slug ?? "";
      await getWorkloadRecord(ctx, c.principal, project, slug);
      return json({ data: await replicaHistory(ctx, project, slug) });
    })
    .on("GET", "/v1/projects/:project/workloads/:slug/series", async (_r, p, c) => {
      const project = p.project ?? "";
      const slug = p.slug ?? "";
      await getWorkloadRecord(ctx, c.principal, project, slug);
      return json(await workloadSeries(ctx, project, slug, seriesRange(ctx, c.url)));
    });
}

const SeriesQuerySchema = z.strictObject({
  from: z.optional(z.iso.datetime({ offset: true })),
  to: z.optional(z.iso.datetime({ offset: true })),
});

function seriesRange(ctx: PlatformContext, url: URL): { from: Date; to: Date } {
  const parsed = SeriesQuerySchema.safeParse(Object.fromEntries(url.searchParams.entries()));
  if (!parsed.success) {
    throw new ValidationError(
      "The series query string is invalid.",
      parsed.error.issues.map((issue) => ({
        path: issue.code === "unrecognized_keys" ? issue.keys.join(", ") : issue.path.join("."),
        message:
          issue.code === "unrecognized_keys" ? "unknown parameter(s); accepted: from, to" : issue.message,
        expected: "from and to as ISO 8601 instants",
      })),
    );
  }
  const to = parsed.data.to === undefined ? ctx.now() : new Date(parsed.data.to);
  const from =
    parsed.data.from === undefined ? new Date(to.getTime() - 3600_000) : new Date(parsed.data.from);
  if (from >= to || to.getTime() - from.getTime() > MAX_SERIES_RANGE_MS) {
    throw new ValidationError("The series range is invalid.", [
      {
        path: "from",
        message: "from must be before to, at most 24 hours apart",
        received: parsed.data.from,
        expected: "an ISO 8601 instant within 24 hours before `to`",
      },
    ]);
  }
  return { from, to };
}
