// okrlink's Forge Custom UI shell: ask the remote for the panel and show it. No framework, no build.
//
// The Forge runtime exposes its bridge to Custom UI pages as `window.__bridge.callBridge`,
// which `@forge/bridge` itself wraps: its `invokeRemote(input)` is
// `callBridge("invoke", {...input, invokeType: "ui-remote-fetch"})` answering
// `{success, payload, error}` (as in @forge/bridge 7, out/invoke-endpoint/invoke-endpoint.js). A page that bundles `@forge/bridge` may instead set
// `window.okrlinkBridge = { invokeRemote, view }` before this module runs; it is used first.
// The panel HTML comes from the same server renderer as the Connect iframe, in static mode
// (no scripts); any <script> is dropped before the content is shown anyway.

const PANEL_PATH = "/forge/panel";
const PARAMETERS = ["team", "cycle", "objective", "view"];

function bridge() {
  const raw = window.__bridge;
  if (raw && typeof raw.callBridge === "function") return raw;
  throw new Error("The Forge bridge is not available.");
}

async function invokeRemote(input) {
  const custom = window.okrlinkBridge;
  if (custom && typeof custom.invokeRemote === "function") return custom.invokeRemote(input);
  const answer = await bridge().callBridge("invoke", { ...input, invokeType: "ui-remote-fetch" });
  const { success, payload, error } = answer || {};
  if (!success) throw new Error((error && error.message) || "The okrlink service did not answer.");
  return payload;
}

async function forgeContext() {
  const custom = window.okrlinkBridge;
  try {
    if (custom && custom.view && typeof custom.view.getContext === "function") {
      return (await custom.view.getContext()) || {};
    }
    return (await bridge().callBridge("getContext")) || {};
  } catch (error) {
    return {};
  }
}

// Panel parameters: the macro's config, else the page's query string (project pages, tests).
export function panelRequest(context, search) {
  const config = (context && context.extension && context.extension.config) || {};
  const query = new URLSearchParams(search || "");
  const body = {};
  for (const name of PARAMETERS) {
    const value = config[name] ?? query.get(name) ?? "";
    body[name] = String(value);
  }
  body.locale = String((context && context.locale) || query.get("locale") || "en").slice(0, 2);
  return body;
}

// invokeRemote answers with the response body, or with { body } around it: accept both.
export function htmlOf(response) {
  let body = response && typeof response === "object" && "body" in response ? response.body : response;
  if (typeof body === "string") body = JSON.parse(body);
  if (!body || typeof body.html !== "string") throw new Error("The panel response has no html.");
  return body.html;
}

export function show(root, html) {
  const page = new DOMParser().parseFromString(html, "text/html");
  page.querySelectorAll("script").forEach((node) => node.remove());
  const styles = [...page.querySelectorAll("style")].map((node) => node.textContent).join("\n");
  if (styles) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(styles);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }
  if (page.documentElement.lang) document.documentElement.lang = page.documentElement.lang;
  root.replaceChildren(...[...page.body.childNodes].map((node) => document.importNode(node, true)));
  root.setAttribute("aria-busy", "false");
  root.dataset.state = "ready";
}

function fail(root, error) {
  const message = document.createElement("p");
  message.setAttribute("role", "alert");
  message.textContent = "The OKR panel could not be loaded. " + (error && error.message ? error.message : "");
  root.replaceChildren(message);
  root.setAttribute("aria-busy", "false");
  root.dataset.state = "error";
}

export async function start(root = document.getElementById("okrlink-root")) {
  try {
    const body = panelRequest(await forgeContext(), window.location.search);
    const response = await invokeRemote({ path: PANEL_PATH, method: "POST", body });
    show(root, htmlOf(response));
  } catch (error) {
    fail(root, error);
  }
}

start();
