import type { CatalogData } from "./index";

/**
 * The AWS Price List API (GetProducts, service AmazonEC2) as the catalog refresh reads it: one
 * on-demand Linux price per instance type and region. Pure: the script (scripts/refresh-gpu-catalog.ts)
 * makes the calls.
 */

/** The filters of one GetProducts call: shared-tenancy Linux without pre-installed software, capacity in use. */
export function priceListFilters(instanceType: string, region: string): { Type: "TERM_MATCH"; Field: string; Value: string }[] {
  return [
    { Type: "TERM_MATCH", Field: "instanceType", Value: instanceType },
    { Type: "TERM_MATCH", Field: "regionCode", Value: region },
    { Type: "TERM_MATCH", Field: "operatingSystem", Value: "Linux" },
    { Type: "TERM_MATCH", Field: "tenancy", Value: "Shared" },
    { Type: "TERM_MATCH", Field: "preInstalledSw", Value: "NA" },
    { Type: "TERM_MATCH", Field: "capacitystatus", Value: "Used" },
  ];
}

export interface OnDemandPrice {
  instanceType: string;
  region: string;
  usdPerHour: number;
}

/** Longest PriceList entry read (a real one is a few KB). */
const MAX_ENTRY_LENGTH = 1_000_000;

/** The on-demand hourly price in one PriceList entry (a JSON string), or undefined when it has none. */
export function parsePriceListEntry(entry: string): OnDemandPrice | undefined {
  if (entry.length > MAX_ENTRY_LENGTH) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry);
  } catch {
    return undefined;
  }
  const product = (parsed as { product?: { attributes?: Record<string, unknown> } }).product?.attributes;
  const instanceType = product?.instanceType;
  const region = product?.regionCode;
  if (typeof instanceType !== "string" || typeof region !== "string") return undefined;
  const onDemand = (parsed as { terms?: { OnDemand?: Record<string, { priceDimensions?: Record<string, { unit?: string; pricePerUnit?: { USD?: string } }> }> } }).terms?.OnDemand;
  for (const term of Object.values(onDemand ?? {})) {
    for (const dimension of Object.values(term.priceDimensions ?? {})) {
      const usd = Number(dimension.pricePerUnit?.USD);
      if (dimension.unit === "Hrs" && Number.isFinite(usd) && usd > 0) return { instanceType, region, usdPerHour: usd };
    }
  }
  return undefined;
}

/** The catalog with the fetched prices (types without one keep none: listed, never launched), dated. */
export function applyPrices(data: CatalogData, prices: readonly OnDemandPrice[], date: string): CatalogData {
  return {
    ...data,
    date,
    source:
      `Instance shapes (GPUs, GPU memory, vCPUs, memory): EC2 DescribeInstanceTypes as recorded in moto's instance_types.json. ` +
      `On-demand Linux prices per instance-hour (${data.regions.join(", ")}): AWS Price List API GetProducts (AmazonEC2; shared tenancy, ` +
      `no pre-installed software), fetched by npm run catalog:refresh on ${date}. Types without a price are listed but never launched.`,
    instance_types: data.instance_types.map((type) => {
      const mine = prices.filter((p) => p.instanceType === type.instance_type && data.regions.includes(p.region));
      const byRegion = Object.fromEntries(mine.map((p) => [p.region, Math.round(p.usdPerHour * 100_000) / 100_000]));
      return { ...type, on_demand_usd_per_hour: byRegion, purchase_options: mine.length > 0 ? ["on-demand" as const] : [] };
    }),
  };
}
