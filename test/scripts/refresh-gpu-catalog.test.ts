import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { GetProductsCommand, type GetProductsCommandInput, PricingClient } from "@aws-sdk/client-pricing";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { type CatalogData, DEFAULT_CATALOG, parsePriceListEntry } from "../../packages/core/src";
import { refreshCatalog } from "../../scripts/refresh-gpu-catalog";

const fixture = JSON.parse(readFileSync(resolve(import.meta.dirname, "fixtures/get-products.json"), "utf8")) as {
  answers: Record<string, { PriceList: string[]; NextToken?: string }[]>;
};

function filterValue(input: GetProductsCommandInput, field: string): string | undefined {
  return input.Filters?.find((f) => f.Field === field)?.Value;
}

describe("catalog refresh from the AWS Price List API (GetProducts)", () => {
  it("reads the on-demand hourly price of an entry, not its reserved terms", () => {
    const entry = fixture.answers["p4de.24xlarge@us-east-1"]?.[1]?.PriceList[0] as string;
    expect(parsePriceListEntry(entry)).toEqual({ instanceType: "p4de.24xlarge", region: "us-east-1", usdPerHour: 27.447 });
    expect(parsePriceListEntry("{not json")).toBeUndefined();
    expect(parsePriceListEntry(JSON.stringify({ product: { attributes: { instanceType: "x" } } }))).toBeUndefined();
  });

  it("queries each type and region with the Linux on-demand filters, follows pages, and dates the new data", async () => {
    const pricing = mockClient(PricingClient);
    const calls: GetProductsCommandInput[] = [];
    pricing.on(GetProductsCommand).callsFake((input: GetProductsCommandInput) => {
      calls.push(input);
      const pages = fixture.answers[`${filterValue(input, "instanceType")}@${filterValue(input, "regionCode")}`] ?? [{ PriceList: [] }];
      return pages[input.NextToken === undefined ? 0 : Number(input.NextToken.replace("page-", "")) - 1];
    });
    const data: CatalogData = {
      ...DEFAULT_CATALOG.data,
      regions: ["us-east-1"],
      instance_types: DEFAULT_CATALOG.data.instance_types.filter((t) => ["p4de.24xlarge", "g6.xlarge", "p5en.48xlarge"].includes(t.instance_type)),
    };

    const next = await refreshCatalog(new PricingClient({ region: "us-east-1" }), data, "2026-12-24");

    expect(calls).toHaveLength(4);
    for (const call of calls) {
      expect(call).toMatchObject({ ServiceCode: "AmazonEC2", FormatVersion: "aws_v1" });
      expect(call.Filters?.map((f) => `${f.Field}=${f.Value}`)).toEqual(
        expect.arrayContaining(["operatingSystem=Linux", "tenancy=Shared", "preInstalledSw=NA", "capacitystatus=Used", "regionCode=us-east-1"]),
      );
    }
    expect(calls.filter((c) => filterValue(c, "instanceType") === "p4de.24xlarge").map((c) => c.NextToken)).toEqual([undefined, "page-2"]);
    expect(next.date).toBe("2026-12-24");
    expect(next.source).toContain("GetProducts");
    const byType = Object.fromEntries(next.instance_types.map((t) => [t.instance_type, [t.on_demand_usd_per_hour, t.purchase_options]]));
    expect(byType).toEqual({
      "g6.xlarge": [{ "us-east-1": 0.8048 }, ["on-demand"]],
      "p4de.24xlarge": [{ "us-east-1": 27.447 }, ["on-demand"]],
      "p5en.48xlarge": [{}, []],
    });
  });
});
