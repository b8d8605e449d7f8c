import type { AutoscaleMemory } from "../autoscale";
import type { PlatformContext } from "../platform/context";

export const controllerKeys = {
  lease: (project: string, slug: string) => ({ pk: `PRJ#${project}`, sk: `LEASE#${slug}` }),
  state: (project: string, slug: string) => ({ pk: `PRJ#${project}`, sk: `CTL#${slug}` }),
  cold: (project: string, slug: string) => ({ pk: `PRJ#${project}`, sk: `COLD#${slug}` }),
};

/** What the controller last decided for a workload, for status. */
export interface ControllerState {
  desired: number;
  decision: string;
  at: string;
  /** The workload incarnation decided for (absent in states written before incarnations). */
  incarnation?: string;
  autoscale?: AutoscaleMemory;
}

export async function readControllerState(ctx: PlatformContext, project: string, slug: string): Promise<ControllerState | undefined> {
  const key = controllerKeys.state(project, slug);
  return (await ctx.store.get(key.pk, key.sk))?.data as ControllerState | undefined;
}
