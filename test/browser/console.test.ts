import { createHash } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InsightType } from "../../gen/agentlearning/v1/learning_pb.js";
import { ReportService } from "../../gen/agentlearning/v1/report_service_pb.js";
import { count, percent, prob } from "../../src/console/format.js";
import { collectErrors, launchBrowser, screenshot } from "../support/browser.js";
import { seedConsoleWorld } from "../support/console-world.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { asSet, recordWorldHistory, world } from "../support/world-history.js";

// The web console in a real browser (Debian's chromium), against a real server seeded from the
// simulated world: every page loads without an error, its figures are the API's, the live feed
// shows what is published while it is open, the predict form answers, and with tokens the page
// asks for one. Screenshots land in .artifacts/console/.

let server: TestServer;
let browser: Browser;
let context: BrowserContext;
let reports: ReturnType<typeof createClient<typeof ReportService>>;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer({ config: { analysisEveryExecutions: 1_000_000, analysisIntervalMs: 3_600_000, heartbeatMs: 1_000 } }),
    launchBrowser(),
  ]);
  await seedConsoleWorld(server, { history: 800, rounds: 20, seed: 5 });
  await server.admin.retrain({ force: true });
  reports = createClient(ReportService, createGrpcTransport({ baseUrl: server.url }));
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

/** Opens a page of the console and waits until it has rendered (or failed). */
async function open(route: string, on: BrowserContext = context): Promise<{ page: Page; errors: string[] }> {
  const page = await on.newPage();
  const errors = collectErrors(page);
  await page.goto(`${server.url}/#/${route}`);
  await page.locator(`[data-page="${route}"][aria-busy="false"]`).waitFor();
  return { page, errors };
}

// biome-ignore lint/performance/useDomNodeTextContent: the text as rendered (innerText), which is what a user reads
const text = (page: Page, testId: string) => page.getByTestId(testId).first().innerText();

describe("every page", () => {
  it("loads with no console error and no failed request: Insights and Predict", async () => {
    for (const route of ["insights", "predict"] as const) {
      const { page, errors } = await open(route);
      if (route === "insights") await page.getByTestId("feed-state").filter({ hasText: "live" }).waitFor();
      expect(await page.locator(".notice.error").allInnerTexts()).toEqual([]);
      await screenshot(page, route);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it("is readable on a phone, in the dark scheme", async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      colorScheme: "dark",
      isMobile: true,
      hasTouch: true,
    });
    const { page, errors } = await open("teams", phone);
    // Nothing wider than the screen except inside the scrolling table wrappers.
    const overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth");
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe("rgb(15, 18, 24)");
    await screenshot(page, "teams-phone-dark");
    expect(errors).toEqual([]);
    await phone.close();
  });

  it("can be used with the keyboard alone: the menu links take focus in order and open their page", async () => {
    const { page } = await open("overview");
    await page.keyboard.press("Tab"); // the skip link
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Overview");
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.textContent")).toBe("Success over time");
    await page.keyboard.press("Enter");
    await page.locator('[data-page="success"][aria-busy="false"]').waitFor();
    expect(page.url()).toContain("#/success");
    await page.close();
  });
});

describe("each page loads with no error and shows the API's figures", () => {
  it("Overview shows GetStatus's counts, rate and mode", async () => {
    const { page, errors } = await open("overview");
    const status = await server.admin.getStatus({});
    expect(await text(page, "execution-count")).toBe(count(status.executionCount));
    expect(await text(page, "success-rate")).toBe(percent(status.successRate));
    expect(await text(page, "evaluated-count")).toBe(count(status.predictionAccuracy?.evaluatedCount ?? 0n));
    expect(await text(page, "brier")).toBe(prob(status.predictionAccuracy?.brierScore ?? 0));
    expect(await text(page, "mode")).toBe("adaptive");
    expect(await text(page, "active-models")).toContain(status.activeModels[0]?.version ?? "no active model");
    await screenshot(page, "overview");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("Success over time shows GetSuccessOverTime's followed and not-followed totals", async () => {
    const { page, errors } = await open("success");
    const report = await reports.getSuccessOverTime({ buckets: 20 });
    for (const series of report.series) {
      const followed = series.buckets.reduce((n, b) => n + Number(b.followed?.executionCount ?? 0n), 0);
      const followedWins = series.buckets.reduce((n, b) => n + Number(b.followed?.successCount ?? 0n), 0);
      const other = series.buckets.reduce((n, b) => n + Number(b.notFollowed?.executionCount ?? 0n), 0);
      const summary = await text(page, `success-summary-${series.taskType}`);
      expect(summary).toContain(`Followed: ${percent(followedWins / followed)} of ${count(followed)}`);
      expect(summary).toContain(`not followed: `);
      expect(summary).toContain(`of ${count(other)}.`);
    }
    await screenshot(page, "success");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("Teams shows GetTeamReport's leaderboard and the bad pair's dominant error in the heat map", async () => {
    const { page, errors } = await open("teams");
    const [entry] = (await reports.getTeamReport({ maxTeams: 10 })).taskTypes;
    const rows = page.getByTestId("leaderboard").locator("tbody tr");
    expect(await rows.count()).toBe(entry!.teams.length);
    for (const [i, team] of entry!.teams.slice(0, 3).entries()) {
      const cells = await rows.nth(i).locator("td").allInnerTexts();
      expect(cells.slice(1, 5)).toEqual([
        team.agents.join(" + "),
        count(team.executionCount),
        count(team.successCount),
        prob(team.posteriorMean),
      ]);
    }
    const [a, b] = asSet(world.badPair(entry!.taskType));
    const cell = page.getByTestId("heat-map").locator(`td[aria-label^="${a} + ${b}:"]`).first();
    const pair = entry!.pairs.find((p) => p.agentA === a && p.agentB === b)!;
    expect(await cell.getAttribute("aria-label")).toBe(
      `${a} + ${b}: ${percent(pair.failureRate)} of ${count(pair.executionCount)} failed; mostly "${pair.dominantError}" (${count(pair.dominantErrorCount)})`,
    );
    await screenshot(page, "teams");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("Models shows GetModelReport's versions, ECE and credited count", async () => {
    const { page, errors } = await open("models");
    const report = await reports.getModelReport({ calibrationBins: 10, durationPoints: 500 });
    expect(report.versions.length).toBeGreaterThan(0);
    expect(await page.getByTestId("model-versions").locator("tbody tr").count()).toBe(report.versions.length);
    expect(await text(page, "ece")).toBe(prob(report.calibration!.expectedCalibrationError));
    expect(await text(page, "calibration-brier")).toBe(prob(report.calibration!.brierScore));
    expect(await text(page, "calibration-count")).toBe(count(report.calibration!.evaluatedCount));
    expect(await text(page, "duration-summary")).toContain(`${count(report.durations.length)} credited executions`);
    await screenshot(page, "models");
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("the live feed", () => {
  it("shows an insight published after the page opened, and resumes from its cursor after a network cut", async () => {
    // The page talks to the server through a proxy whose connections the test can cut.
    const proxy = await startTcpProxy(server.port);
    try {
      const page = await context.newPage();
      const errors = collectErrors(page);
      await page.goto(`${proxy.url}/#/insights`);
      const state = page.getByTestId("feed-state");
      await state.filter({ hasText: "live" }).waitFor();
      await page.getByTestId("insight-list").locator("li").first().waitFor();
      const cursor = await text(page, "feed-cursor");
      proxy.cutAll();
      await page
        .getByTestId("feed-reconnects")
        .filter({ hasText: /^[1-9]/ })
        .waitFor();
      await state.filter({ hasText: "live" }).waitFor();
      // A task type the page has never seen gets a best team: a new finding, published now.
      await recordWorldHistory(server.learning, {
        taskTypes: ["documentation"],
        count: 300,
        seed: 77,
        team: () => world.bestCombination("documentation"),
      });
      await recordWorldHistory(server.learning, { taskTypes: ["documentation"], count: 150, seed: 78, idPrefix: "docs-other" });
      await server.admin.analyze({ taskType: "documentation" });
      const published = (await server.learning.listInsights({ taskTypes: ["documentation"], types: [InsightType.BEST_COMBO] })).insights;
      expect(published.length).toBeGreaterThan(0);
      for (const insight of published) await page.getByTestId(`insight-${insight.insightId}`).waitFor({ timeout: 10_000 });
      // Each insight once, though the feed was replayed, cut and resumed; the cursor moved on.
      const ids = await page
        .getByTestId("insight-list")
        .locator("li")
        .evaluateAll((items) => items.map((li) => li.getAttribute("data-testid")));
      expect(new Set(ids).size).toBe(ids.length);
      const log = await page
        .getByTestId("feed-log")
        .locator("li")
        .evaluateAll((items) => items.map((li) => li.getAttribute("data-cursor")));
      expect(new Set(log).size).toBe(log.length);
      expect(await text(page, "feed-cursor")).not.toBe(cursor);
      await screenshot(page, "insights-live");
      // The cut itself surfaces as the stream's broken response; nothing else may fail.
      expect(errors.filter((e) => !/ERR_INCOMPLETE_CHUNKED_ENCODING|request failed: .*StreamInsights/.test(e))).toEqual([]);
      await page.close();
    } finally {
      await proxy.close();
    }
  });
});

describe("the predict form", () => {
  it("returns ranked teams from PredictAgents", async () => {
    const { page, errors } = await open("predict");
    await page.getByLabel("Task type").fill("web_development");
    await page.getByLabel("Complexity (0–10)").fill("2");
    await page.getByLabel("Recommendations").fill("3");
    await page.getByRole("button", { name: "Recommend teams" }).click();
    const teams = page.getByTestId("recommended-team");
    await teams.first().waitFor();
    expect(await teams.count()).toBeGreaterThan(0);
    for (const team of await teams.allInnerTexts()) expect(team.split(" + ").length).toBeGreaterThan(0);
    await screenshot(page, "predict-answer");
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe("with tokens configured", () => {
  it("asks for a token, sends it as a bearer header, and never puts it in the URL", async () => {
    const secret = "console-read-token-0123456789";
    const sha = createHash("sha256").update(secret).digest("hex");
    const guarded = await startTestServer({
      databaseUrl: server.databaseUrl,
      config: { authTokens: `console:${sha}:read`, analysisIntervalMs: 3_600_000 },
    });
    const own = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const page = await own.newPage();
      const sent: string[] = [];
      page.on("request", (request) => {
        const header = request.headers().authorization;
        if (header) sent.push(header);
      });
      await page.goto(`${guarded.url}/#/overview`);
      await page.getByTestId("token-form").waitFor();
      await page.getByLabel("Token").fill(secret);
      await page.getByRole("button", { name: "Continue" }).click();
      await page.locator('[data-page="overview"][aria-busy="false"]').waitFor();
      const status = await guarded.admin.getStatus({}, { headers: { authorization: `Bearer ${secret}` } });
      expect(await text(page, "execution-count")).toBe(count(status.executionCount));
      expect(sent.length).toBeGreaterThan(0);
      expect(new Set(sent)).toEqual(new Set([`Bearer ${secret}`]));
      expect(page.url()).not.toContain(secret);
    } finally {
      await own.close();
      await guarded.stop();
    }
  });
});
