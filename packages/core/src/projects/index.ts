import { z } from "zod";
import { ConditionFailedError, ConflictError, NotFoundError } from "../errors";
import { isoNow, keys, type PlatformContext } from "../platform/context";
import { SLUG_PATTERN } from "../spec/schema";
import { type Principal, requireAdmin } from "../tokens";

export const ProjectInputSchema = z.strictObject({
  slug: z.string().regex(SLUG_PATTERN),
  name: z.string().trim().min(1).max(120).optional(),
});

export interface ProjectRecord {
  slug: string;
  name: string;
  created_at: string;
}

/**
 * Resolves a project the caller may see. A project-scoped token asking for another project gets the
 * same 404 as for a project that does not exist: no hint that it exists.
 */
export async function getProject(ctx: PlatformContext, principal: Principal, slug: string): Promise<ProjectRecord> {
  const notFound = new NotFoundError(`project "${slug}" not found`);
  if (principal.project !== undefined && principal.project !== slug) throw notFound;
  const item = await ctx.store.get(keys.project(slug).pk, keys.project(slug).sk);
  if (!item) throw notFound;
  return item.data as unknown as ProjectRecord;
}

export async function createProject(
  ctx: PlatformContext,
  principal: Principal,
  input: z.output<typeof ProjectInputSchema>,
): Promise<ProjectRecord> {
  if (principal.project !== undefined) requireAdmin(principal);
  const record: ProjectRecord = { slug: input.slug, name: input.name ?? input.slug, created_at: isoNow(ctx) };
  try {
    await ctx.store.put({ ...keys.project(input.slug), data: { ...record } }, { kind: "absent" });
  } catch (error) {
    if (error instanceof ConditionFailedError) throw new ConflictError(`project "${input.slug}" already exists`);
    throw error;
  }
  return record;
}

/**
 * The project for a write that may create it: an organisation-scoped token's first ensure() into
 * a new project creates it; a project-scoped token never creates anything outside its project.
 */
export async function getOrCreateProject(ctx: PlatformContext, principal: Principal, slug: string): Promise<ProjectRecord> {
  try {
    return await getProject(ctx, principal, slug);
  } catch (error) {
    if (!(error instanceof NotFoundError) || principal.project !== undefined) throw error;
  }
  try {
    return await createProject(ctx, principal, { slug });
  } catch (error) {
    if (error instanceof ConflictError) return getProject(ctx, principal, slug);
    throw error;
  }
}

export async function listProjects(
  ctx: PlatformContext,
  principal: Principal,
  page: { limit?: number; cursor?: string },
): Promise<{ data: ProjectRecord[]; next_cursor?: string }> {
  if (principal.project !== undefined) {
    const only = await getProject(ctx, principal, principal.project).catch(() => undefined);
    return { data: only ? [only] : [] };
  }
  const result = await ctx.store.query({
    pk: keys.org(),
    skPrefix: keys.projectPrefix(),
    limit: page.limit ?? 50,
    ...(page.cursor ? { cursor: page.cursor } : {}),
  });
  return {
    data: result.items.map((i) => i.data as unknown as ProjectRecord),
    ...(result.cursor ? { next_cursor: result.cursor } : {}),
  };
}
