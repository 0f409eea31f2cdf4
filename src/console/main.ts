// The web console: a read-only view of the service, served on its own port (GET /). Pages are
// chosen by the URL fragment (#/teams), so every page has an address and the back button works.
import "./style.css";
import { type Api, api, currentToken, describeError, needsToken, setToken } from "./api.js";
import { h, notice } from "./dom.js";
import { insightsPage } from "./pages/insights.js";
import { modelsPage } from "./pages/models.js";
import { overviewPage } from "./pages/overview.js";
import { predictPage } from "./pages/predict.js";
import { successPage } from "./pages/success.js";
import { teamsPage } from "./pages/teams.js";

type Page = (root: HTMLElement, api: Api, signal: AbortSignal, askToken: () => void) => Promise<void>;

/** The pages in menu order: route, title, renderer. */
const PAGES: readonly { route: string; title: string; render: Page }[] = [
  { route: "overview", title: "Overview", render: overviewPage },
  { route: "success", title: "Success over time", render: successPage },
  { route: "teams", title: "Teams", render: teamsPage },
  { route: "insights", title: "Insights", render: insightsPage },
  { route: "models", title: "Models", render: modelsPage },
  { route: "predict", title: "Predict", render: predictPage },
];

const main = document.getElementById("page") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
let current: AbortController | undefined;

nav.append(...PAGES.map((p) => h("a", { href: `#/${p.route}`, "data-route": p.route }, p.title)));

function routeOf(hash: string): string {
  const route = hash.replace(/^#\/?/, "");
  return PAGES.some((p) => p.route === route) ? route : "overview";
}

/** Shows the page the fragment names; the previous page's streams and charts are released. */
function show(): void {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const route = routeOf(location.hash);
  const page = PAGES.find((p) => p.route === route)!;
  document.title = `${page.title} · agent-learning`;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.route === route) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const body = h("div", { class: "page-body", "data-page": route, "aria-busy": "true" });
  main.replaceChildren(h("h1", {}, page.title), body);
  page
    .render(body, api, controller.signal, askToken)
    .catch((error: unknown) => {
      if (controller.signal.aborted) return;
      if (needsToken(error)) askToken();
      else body.append(notice(describeError(error), "error"));
    })
    .finally(() => {
      if (!controller.signal.aborted) body.setAttribute("aria-busy", "false");
    });
}

/** Asks for a bearer token (read scope) and shows the page again with it. */
function askToken(): void {
  current?.abort();
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const form = h(
    "form",
    { class: "card token-form", "data-testid": "token-form" },
    h("h1", {}, "Token needed"),
    h(
      "p",
      {},
      currentToken() ? "The server did not accept the token. " : "",
      "This server requires a bearer token with the read scope (the Predict page also needs predict). It is kept for this tab only and sent in the authorization header.",
    ),
    h("label", { for: "token" }, "Token"),
    input,
    h("button", { type: "submit" }, "Continue"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    show();
  });
  main.replaceChildren(form);
  input.focus();
}

window.addEventListener("hashchange", () => {
  show();
  main.focus();
});
show();
