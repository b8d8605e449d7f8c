/**
 * Refreshes the on-demand prices of packages/core/src/catalog/ec2-gpu-catalog.json from the AWS
 * Price List API (GetProducts), one call (and its pages) per instance type and region, and dates the
 * data. Needs AWS credentials allowed `pricing:GetProducts` (the API answers in us-east-1).
 *
 *   npm run catalog:refresh            # writes the file
 *   npm run catalog:refresh -- --check # prints what would change, writes nothing
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { GetProductsCommand, PricingClient } from "@aws-sdk/client-pricing";
import { applyPrices, type CatalogData, CatalogDataSchema, type OnDemandPrice, parsePriceListEntry, priceListFilters } from "../packages/core/src/catalog";

export const CATALOG_PATH = resolve(import.meta.dirname, "../packages/core/src/catalog/ec2-gpu-catalog.json");

/** Pages one GetProducts query may return before the refresh gives up (a type has one or two entries). */
const MAX_PAGES = 20;

/** The on-demand Linux price of every type in every region the API knows it in. */
export async function fetchOnDemandPrices(client: Pick<PricingClient, "send">, instanceTypes: readonly string[], regions: readonly string[]): Promise<OnDemandPrice[]> {
  const prices: OnDemandPrice[] = [];
  for (const instanceType of instanceTypes) {
    for (const region of regions) {
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const answer = await client.send(
          new GetProductsCommand({
            ServiceCode: "AmazonEC2",
            FormatVersion: "aws_v1",
            Filters: priceListFilters(instanceType, region),
            MaxResults: 100,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        );
        for (const entry of answer.PriceList ?? []) {
          const price = parsePriceListEntry(typeof entry === "string" ? entry : JSON.stringify(entry));
          if (price !== undefined && price.instanceType === instanceType && price.region === region) prices.push(price);
        }
        token = answer.NextToken;
        if (token === undefined) break;
      }
    }
  }
  return prices;
}

export async function refreshCatalog(client: Pick<PricingClient, "send">, data: CatalogData, date: string): Promise<CatalogData> {
  const prices = await fetchOnDemandPrices(
    client,
    data.instance_types.map((t) => t.instance_type),
    data.regions,
  );
  return CatalogDataSchema.parse(applyPrices(data, prices, date));
}

async function main(argv: readonly string[]): Promise<void> {
  const current = CatalogDataSchema.parse(JSON.parse(readFileSync(CATALOG_PATH, "utf8")));
  const next = await refreshCatalog(new PricingClient({ region: "us-east-1" }), current, new Date().toISOString().slice(0, 10));
  for (const type of next.instance_types) {
    const before = current.instance_types.find((t) => t.instance_type === type.instance_type)?.on_demand_usd_per_hour;
    if (JSON.stringify(before) !== JSON.stringify(type.on_demand_usd_per_hour)) {
      console.log(`${type.instance_type}: ${JSON.stringify(before)} -> ${JSON.stringify(type.on_demand_usd_per_hour)}`);
    }
  }
  if (argv.includes("--check")) return;
  writeFileSync(CATALOG_PATH, `${JSON.stringify(next, null, 2)}\n`);
  console.log(`wrote ${CATALOG_PATH} (${next.date})`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
