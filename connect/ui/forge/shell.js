// okrlink's Forge Custom UI shell: ask the remote for the panel (or the project page) and show it.
// No framework, no build.
//
// The Forge runtime exposes its bridge to Custom UI pages as `window.__bridge.callBridge`,
// which `@forge/bridge` itself wraps: its `invokeRemote(input)` is
// `callBridge("invoke", {...input, invokeType: "ui-remote-fetch"})` answering
// `{success, payload, error}` (as in @forge/bridge 7, out/invoke-endpoint/invoke-endpoint.js). A page that bundles `@forge/bridge` may instead set
// `window.okrlinkBridge = { invokeRemote, view }` before this module runs; it is used first.
// The HTML comes from the same server renderer as the Connect iframe, without scripts; any
// <script> is dropped before the content is shown anyway.
//
// As the `jira:projectPage` module the shell shows the project page of the context's project
// (`POST /forge/project/page`). The page's links and form actions point at the remote's routes
// (`/forge/project/...?team=...`): the shell follows them through the bridge instead of
// navigating, sending a form as `{form: <data-form>, fields, csrf, ...the action's parameters}`
// to `POST /forge/project/forms`, and shows the page it answers (saved, or the form again with
// its errors beside its fields).
//
// As the `jira:dashboardGadget` module it shows the panel its gadget configuration names
// (`POST /forge/gadget`; the answer is kept for the session and sent back as If-None-Match, so
// an unchanged panel answers 304), and in its edit view the settings form
// (`POST /forge/gadget/edit`), which it submits to Jira as the gadget's configuration
// (`view.submit`, the bridge's "submit" call).

const PANEL_PATH = "/forge/panel";
const PROJECT_PAGE_PATH = "/forge/project/page";
const REMOTE_PAGES = "/forge/project/";
const PARAMETERS = ["team", "cycle", "objective", "view"];
const GADGET = "jira:dashboardGadget";
const GADGET_PATH = "/forge/gadget";
const GADGET_EDIT_PATH = "/forge/gadget/edit";
const GADGET_SETTINGS = ["team", "cycle", "view"];

function bridge() {
  const raw = window.__bridge;
  if (raw && typeof raw.callBridge === "function") return raw;
  throw new Error("The Forge bridge is not available.");
}

// The remote's answer; an answer with a body (a 422 page, an error) is returned as well.
async function invokeRemote(input) {
  const custom = window.okrlinkBridge;
  if (custom && typeof custom.invokeRemote === "function") return custom.invokeRemote(input);
  const answer = await bridge().callBridge("invoke", { ...input, invokeType: "ui-remote-fetch" });
  const { success, payload, error } = answer || {};
  if (!success && !(payload && (payload.body || payload.status === 304))) {
    throw new Error((error && error.message) || "The okrlink service did not answer.");
  }
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

function localeOf(context, query) {
  return String((context && context.locale) || query.get("locale") || "en").slice(0, 2);
}

// Panel parameters: the macro's config, else the page's query string (tests).
export function panelRequest(context, search) {
  const config = (context && context.extension && context.extension.config) || {};
  const query = new URLSearchParams(search || "");
  const body = {};
  for (const name of PARAMETERS) {
    const value = config[name] ?? query.get(name) ?? "";
    body[name] = String(value);
  }
  body.locale = localeOf(context, query);
  return body;
}

// The gadget's settings: its gadget configuration, else the page's query string (tests).
export function gadgetRequest(context, search) {
  const extension = (context && context.extension) || {};
  const config = extension.gadgetConfiguration || {};
  const query = new URLSearchParams(search || "");
  const body = { locale: localeOf(context, query) };
  for (const name of GADGET_SETTINGS) body[name] = String(config[name] ?? query.get(name) ?? "");
  const path = extension.entryPoint === "edit" ? GADGET_EDIT_PATH : GADGET_PATH;
  return { path, method: "POST", body };
}

// The first call: the project page of the context's project, the gadget, else the panel.
export function firstRequest(context, search) {
  const extension = (context && context.extension) || {};
  const project = extension.project || {};
  if (extension.type === GADGET) return gadgetRequest(context, search);
  if (extension.type === "jira:projectPage" && project.key) {
    const locale = localeOf(context, new URLSearchParams(search || ""));
    return { path: PROJECT_PAGE_PATH, method: "POST", body: { team: String(project.key), locale } };
  }
  return { path: PANEL_PATH, method: "POST", body: panelRequest(context, search) };
}

// invokeRemote answers with the response body, or with { body } around it: accept both.
export function bodyOf(response) {
  let body = response && typeof response === "object" && "body" in response ? response.body : response;
  if (typeof body === "string") body = JSON.parse(body);
  return body || {};
}

export function htmlOf(response) {
  const body = bodyOf(response);
  if (typeof body.html === "string") return body.html;
  const message = body.error && body.error.message;
  throw new Error(message || "The panel response has no html.");
}

// A call of the remote's own page routes, as a link or form action of the page names it.
function remoteCall(target) {
  if (!target) return null;
  const url = new URL(target, "https://okrlink.invalid");
  if (url.origin !== "https://okrlink.invalid" || !url.pathname.startsWith(REMOTE_PAGES)) return null;
  return { path: url.pathname, body: Object.fromEntries(url.searchParams) };
}

export function linkRequest(anchor, locale) {
  const call = remoteCall(anchor.getAttribute("href"));
  if (!call) return null;
  return { path: call.path, method: "POST", body: { ...call.body, locale } };
}

// A form as the remote takes it: its `data-form`, its fields (a list for a name given more than
// once), its CSRF token apart, and the parameters of its action. A button with its own
// `formaction` and `data-form` (a KR form's "Preview") sends the form as that form instead.
export function formRequest(form, locale, submitter = null) {
  const own = submitter && submitter.hasAttribute("formaction") ? submitter : null;
  const call = remoteCall(own ? own.getAttribute("formaction") : form.getAttribute("action"));
  if (!call) return null;
  const fields = {};
  for (const [name, value] of new FormData(form)) {
    if (typeof value !== "string") continue;
    if (!(name in fields)) fields[name] = value;
    else fields[name] = [].concat(fields[name], value);
  }
  const csrf = typeof fields.csrf_token === "string" ? fields.csrf_token : "";
  delete fields.csrf_token;
  const name = (own && own.dataset.form) || form.dataset.form || "";
  const body = { ...call.body, form: name, fields, csrf, locale };
  return { path: call.path, method: "POST", body };
}

const sheet = typeof CSSStyleSheet === "function" ? new CSSStyleSheet() : null;

export function show(root, html) {
  const page = new DOMParser().parseFromString(html, "text/html");
  page.querySelectorAll("script").forEach((node) => node.remove());
  const styles = [...page.querySelectorAll("style")].map((node) => node.textContent).join("\n");
  if (styles && sheet) {
    sheet.replaceSync(styles);
    if (!document.adoptedStyleSheets.includes(sheet)) {
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }
  }
  if (page.documentElement.lang) document.documentElement.lang = page.documentElement.lang;
  root.replaceChildren(...[...page.body.childNodes].map((node) => document.importNode(node, true)));
  root.setAttribute("aria-busy", "false");
  root.dataset.state = "ready";
}

function alertOf(error, prefix) {
  const message = document.createElement("p");
  message.setAttribute("role", "alert");
  message.className = "err";
  message.textContent = prefix + (error && error.message ? error.message : "");
  return message;
}

function fail(root, error) {
  root.replaceChildren(alertOf(error, "The OKR panel could not be loaded. "));
  root.setAttribute("aria-busy", "false");
  root.dataset.state = "error";
}

// Follow a link or send a form of the page; show the page answered, or say why there is none
// above the page as it was (an expired form, a key of another site, a closed cycle).
async function follow(root, request) {
  root.setAttribute("aria-busy", "true");
  root.dataset.state = "busy";
  try {
    const body = bodyOf(await invokeRemote(request));
    if (typeof body.html !== "string") throw new Error((body.error && body.error.message) || "");
    show(root, body.html);
    root.dataset.status = String(body.status || 200);
    const invalid = root.querySelector('[aria-invalid="true"]');
    if (invalid) invalid.focus();
    else window.scrollTo(0, 0);
  } catch (error) {
    root.querySelectorAll(":scope > [data-shell-alert]").forEach((node) => node.remove());
    const alert = alertOf(error, "Not saved. ");
    alert.dataset.shellAlert = "";
    root.prepend(alert);
    root.setAttribute("aria-busy", "false");
    root.dataset.state = "ready";
    window.scrollTo(0, 0);
  }
}

// The gadget's settings form, submitted to Jira as its configuration.
async function submitGadget(root, form) {
  const settings = {};
  for (const name of GADGET_SETTINGS) {
    const field = form.elements.namedItem(name);
    settings[name] = field ? String(field.value) : "";
  }
  const custom = window.okrlinkBridge;
  try {
    if (custom && custom.view && typeof custom.view.submit === "function") {
      await custom.view.submit(settings);
    } else if ((await bridge().callBridge("submit", settings)) === false) {
      throw new Error("This gadget cannot be configured here.");
    }
    root.dataset.submitted = JSON.stringify(settings);
  } catch (error) {
    root.prepend(alertOf(error, "Not saved. "));
  }
}

// The gadget's panel: the answer kept for the session is offered as If-None-Match, and shown
// again when the remote answers 304 (the panel did not change).
const SAVED = "okrlink-gadget:";

function remembered(key) {
  try {
    return JSON.parse(window.sessionStorage.getItem(SAVED + key) || "null");
  } catch (error) {
    return null;
  }
}

export async function gadgetHtml(request) {
  const key = JSON.stringify(request.body);
  const kept = remembered(key);
  const headers = kept && kept.etag ? { "If-None-Match": kept.etag } : {};
  const response = await invokeRemote({ ...request, headers });
  if (response && response.status === 304 && kept) return kept.html;
  const html = htmlOf(response);
  const etag = response && response.headers && (response.headers.etag || response.headers.ETag);
  try {
    if (etag) window.sessionStorage.setItem(SAVED + key, JSON.stringify({ etag, html }));
  } catch (error) {
    // no session storage in this frame: nothing kept
  }
  return html;
}

// Links and forms of the page go through the bridge; others are left to the browser.
export function follows(root, locale) {
  root.addEventListener("submit", (event) => {
    if (event.target instanceof HTMLFormElement && event.target.dataset.form === "gadget-config") {
      event.preventDefault();
      submitGadget(root, event.target);
      return;
    }
    const request =
      event.target instanceof HTMLFormElement && formRequest(event.target, locale, event.submitter);
    if (!request) return;
    event.preventDefault();
    if (root.dataset.state !== "busy") follow(root, request);
  });
  root.addEventListener("click", (event) => {
    const anchor = event.target instanceof Element && event.target.closest("a[href]");
    const request = anchor && root.contains(anchor) && linkRequest(anchor, locale);
    if (!request) return;
    event.preventDefault();
    if (root.dataset.state !== "busy") follow(root, request);
  });
}

export async function start(root = document.getElementById("okrlink-root")) {
  try {
    const request = firstRequest(await forgeContext(), window.location.search);
    follows(root, request.body.locale);
    const gadget = request.path === GADGET_PATH;
    show(root, gadget ? await gadgetHtml(request) : htmlOf(await invokeRemote(request)));
  } catch (error) {
    fail(root, error);
  }
}

start();
