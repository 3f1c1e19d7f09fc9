// The Jobs page: polls the JSON job API and renders it. Every server string goes in via textContent.
"use strict";

const POLL_MS = 2000;
const KEY_STORAGE = "sidecar-api-key";
const ALERTS_STORAGE = "sidecar-failure-alerts"; // "on" | "off", remembered by this browser
const SEEN_STORAGE = "sidecar-alerted-runs"; // failed run ids already announced (once per run)
const PIPELINE_STORAGE = "sidecar-pipeline-runs"; // kind -> run ids of the pipeline started here
const SEEN_LIMIT = 200;
const HISTORY_PAGE = 20;
const TREND_RUNS = 50;
const STATES = ["idle", "queued", "running", "completed", "failed", "cancelled"];
const LEVELS = ["debug", "info", "warning", "error"];

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const $ = (id) => document.getElementById(id);
const part = (root, role) => root.querySelector(`[data-role="${role}"]`);
const enc = encodeURIComponent;

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, children = []) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const child of children) node.append(child);
  return node;
}

// ---- API access, with the key asked for once when the server answers 401 ----

let apiKey = sessionStorage.getItem(KEY_STORAGE);
let keyWaiters = null;

function askForKey() {
  if (!keyWaiters) {
    keyWaiters = [];
    $("key-form").hidden = false;
    $("api-key").focus();
  }
  return new Promise((resolve) => keyWaiters.push(resolve));
}

function keySubmitted(event) {
  event.preventDefault();
  const value = $("api-key").value.trim();
  if (!value) return;
  apiKey = value;
  sessionStorage.setItem(KEY_STORAGE, value);
  $("api-key").value = "";
  $("key-form").hidden = true;
  const waiters = keyWaiters || [];
  keyWaiters = null;
  waiters.forEach((resolve) => resolve());
}

async function send(method, path, body, accept) {
  for (;;) {
    const headers = { Accept: accept };
    if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
    // State-changing calls always carry a JSON body with its content type (an empty object at least).
    const hasBody = method !== "GET";
    if (hasBody) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: hasBody ? JSON.stringify(body ?? {}) : undefined, credentials: "same-origin" });
    } catch (err) {
      throw new ApiError(0, "network", "The sidecar cannot be reached; check that it is running.");
    }
    if (response.status === 401) {
      if (apiKey) {
        apiKey = null; // the stored key was refused: forget it and ask again
        sessionStorage.removeItem(KEY_STORAGE);
        showError("The API key was not accepted; enter it again.");
      }
      await askForKey();
      continue;
    }
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch (err) { data = null; }
      const error = data && data.error ? data.error : {};
      throw new ApiError(response.status, error.code || "error", error.message || `The sidecar answered ${response.status}.`);
    }
    return response;
  }
}

async function api(method, path, body) {
  const response = await send(method, path, body, "application/json");
  try { return await response.json(); } catch (err) { return null; }
}

// ---- Messages ----

let noticeTimer = null;
function showError(message) { $("messages").textContent = message; }
function clearError() { $("messages").textContent = ""; }
function showNotice(message) {
  $("notices").textContent = message;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { $("notices").textContent = ""; }, 6000);
}

async function act(what) {
  // A user action: its API error becomes a readable message instead of an exception.
  clearError();
  try {
    await what();
  } catch (err) {
    showError(err instanceof ApiError ? err.message : String(err));
  }
  await refresh();
}

// ---- Formatting ----

const numberFormat = new Intl.NumberFormat();
const fmtNumber = (n) => numberFormat.format(n);

function formatTime(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function relative(iso) {
  if (!iso) return "—";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const abs = Math.abs(seconds);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (abs < 45) return seconds < 0 ? "just now" : "in a few seconds";
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), "hour");
  return rtf.format(Math.round(seconds / 86400), "day");
}

// A relative time, with the absolute one on hover and for assistive technology.
function timeEl(iso) {
  if (!iso) return document.createTextNode("—");
  return el("time", { datetime: iso, title: formatTime(iso), text: relative(iso) });
}

function formatDuration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function badge(node, state) {
  node.dataset.state = STATES.includes(state) ? state : "idle";
  node.textContent = state;
}

// ---- One human line per result: the counts a person cares about, raw counts stay in the run details ----

// Known counts in the order a person reads them; any other count of a future job still shows (humanised).
const RESULT_LABELS = [
  ["embedded", "embedded"], ["added", "added"], ["updated", "updated"], ["removed", "removed"],
  ["restored", "restored"], ["deleted", "deleted"], ["users_processed", "users"], ["users", "users"],
  ["recommendations_written", "picks"], ["plays_written", "plays"],
  ["entries_written", "entries written"], ["entries_removed", "entries removed"],
  ["libraries_created", "libraries created"], ["suggestions_written", "suggestions"], ["tmdb_requests", "TMDb requests"],
];
const FAILED_KEYS = ["failed", "users_failed", "items_failed"];
// Counts that explain but do not summarise a run (still listed in the run's details).
const QUIET_KEYS = new Set(["unchanged", "users_changed", "skipped", "requests", "tokens", "dimensions", "mean_ms_per_user",
  "users_on_server", "users_unaffected", "users_skipped", "skipped_no_history", "copies_skipped", "copies_counted",
  "copies_orphaned", "originals_marked", "marks_failed",
  "skipped_unknown_movies", "entries_unchanged", "files_written", "picks_skipped", "scans_requested",
  "policies_updated", "libraries_recreated", "plays_removed", "users_removed",
  "seeds", "seeds_cached", "seeds_fetched", "seeds_not_found", "candidates", "candidates_embedded", "embedding_requests",
  "embedding_failed", "users_skipped_no_history", "users_skipped_no_seeds", "kinds_skipped", "lookups", "lookups_failed",
  "parental_dropped", "certifications", "certifications_failed", "movies_seeds", "series_seeds", "user_seeds"]);
const MAX_PARTS = 3;

function summarize(result) {
  if (!result || typeof result !== "object") return "";
  // A job whose outside service has no key completes with the variable to set (issue #19).
  if (typeof result.not_configured === "string") return `not configured: set ${result.not_configured}`;
  const numbers = Object.entries(result).filter(([, v]) => typeof v === "number");
  const parts = [];
  const used = new Set();
  const take = (key, label) => {
    if (parts.length >= MAX_PARTS || used.has(label) || !result[key]) return;
    parts.push(`${fmtNumber(result[key])} ${label}`);
    used.add(label);
  };
  for (const [key, label] of RESULT_LABELS) if (typeof result[key] === "number") take(key, label);
  for (const [key] of numbers) {
    if (RESULT_LABELS.some(([k]) => k === key) || FAILED_KEYS.includes(key) || QUIET_KEYS.has(key) || key.endsWith("_ms")) continue;
    take(key, key.replaceAll("_", " "));
  }
  const failedKeys = FAILED_KEYS.filter((k) => typeof result[k] === "number");
  if (!parts.length) parts.push(typeof result.unchanged === "number" ? `no changes (${fmtNumber(result.unchanged)} unchanged)` : "nothing to do");
  if (failedKeys.length) parts.push(`${fmtNumber(failedKeys.reduce((sum, k) => sum + result[k], 0))} failed`);
  return parts.join(" · ");
}

function runLine(run) {
  if (!run) return "";
  if (run.status === "failed" || run.status === "cancelled") return run.error || run.status;
  if (run.status === "completed") return summarize(run.result);
  return run.progress && run.progress.current_step ? run.progress.current_step : run.status;
}

// What an admin should look at for a failure, from the words of the error.
function whatToCheck(error) {
  const text = (error || "").toLowerCase();
  if (text.includes("prerequisite")) return "An earlier step did not complete: open that job's card and its log first.";
  if (text.includes("interrupted")) return "The worker restarted during the run: check the worker's log, then run the job again.";
  if (text.includes("media server") || text.includes("jellyfin") || text.includes("emby")) return "Check that the media server runs and that SIDECAR_MEDIA_SERVER_URL and its API key are right.";
  if (text.includes("openai") || text.includes("embedding")) return "Check the embedding provider's settings and that it can be reached.";
  if (text.includes("database") || text.includes("postgres")) return "Check that PostgreSQL runs (GET /api/health).";
  if (text.includes("cancel")) return "It was cancelled; run it again when ready.";
  return "Open its History to read the log lines before the failure.";
}

// ---- Icons per job: what the job does, read from its name ----

const ICONS = [
  [/reset/, "M4 12a8 8 0 1 1 2.3 5.7M4 20v-5h5"],
  [/embedding/, "M12 3l8 4.5v9L12 21l-8-4.5v-9zM12 12l8-4.5M12 12v9M12 12L4 7.5"],
  [/watch-history|history/, "M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12zm10 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6z"],
  [/recommend|pick/, "M12 3l2.6 5.6 6.1.6-4.6 4.1 1.3 6L12 16.3 6.6 19.3l1.3-6L3.3 9.2l6.1-.6z"],
  [/librar/, "M4 5h5v14H4zM10 5h4v14h-4zM15.5 5.5l3.9-1 3 13.6-3.9 1z"],
  [/user/, "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm-8 8c0-3.3 3.6-6 8-6s8 2.7 8 6"],
  [/sync/, "M20 8a8 8 0 0 0-14.3-2M4 4v4h4M4 16a8 8 0 0 0 14.3 2M20 20v-4h-4"],
  [/./, "M5 12h14M12 5v14"],
];

function jobIcon(name) {
  const [, d] = ICONS.find(([pattern]) => pattern.test(name));
  return svg("svg", { viewBox: "0 0 24 24" }, [svg("path", { d })]);
}

// ---- Job cards ----

const cards = new Map(); // job name -> {root, job}
const categories = new Map(); // category -> cards container
let jobList = [];

function categoryContainer(category) {
  if (!categories.has(category)) {
    const id = `category-${categories.size}`;
    const heading = el("h2", { id, text: category });
    const list = el("div", { class: "cards" });
    $("jobs").append(el("section", { class: "category", "aria-labelledby": id }, [heading, list]));
    categories.set(category, list);
  }
  return categories.get(category);
}

function jobPath(job, rest = "") { return `/api/jobs/${enc(job.name)}${rest}`; }

function createCard(job) {
  const root = $("job-card").content.firstElementChild.cloneNode(true);
  root.dataset.job = job.name;
  root.setAttribute("aria-label", job.title);
  const entry = { root, job };
  part(root, "icon").append(jobIcon(job.name));
  part(root, "run").addEventListener("click", () => act(async () => {
    const variant = entry.job.variants.length > 1 ? part(root, "variant").value : undefined;
    const answer = await api("POST", jobPath(entry.job, "/runs"), variant ? { variant } : {});
    showNotice(`${entry.job.title}: run ${answer.run.status}.`);
  }));
  part(root, "cancel").addEventListener("click", () => act(async () => {
    const answer = await api("POST", jobPath(entry.job, "/cancel"));
    showNotice(`${entry.job.title}: cancel requested for ${answer.cancelled.length} run(s).`);
  }));
  part(root, "history").addEventListener("click", () => { location.hash = `#history/${enc(entry.job.name)}`; });
  part(root, "gear").addEventListener("click", () => openSchedule(entry.job));
  const select = part(root, "variant");
  for (const variant of job.variants) select.append(el("option", { value: variant, text: variant }));
  part(root, "variant-label").hidden = job.variants.length < 2;
  select.setAttribute("aria-label", `Variant of ${job.title}`);
  categoryContainer(job.category).append(root);
  cards.set(job.name, entry);
  return entry;
}

function nextRunText(job) {
  if (job.manual_only) return document.createTextNode("Manual only: runs when you start it");
  const s = job.schedule;
  if (!s) return document.createTextNode("Not scheduled");
  if (!s.enabled) return document.createTextNode(`Schedule off (${s.description})`);
  return el("span", {}, [timeEl(s.next_run_at), el("span", { class: "muted", text: ` · ${s.description}` })]);
}

// One progress view (bar, percent, step, items, elapsed) for the card of the running job and the queue.
function fillProgress(box, run) {
  const p = run.progress || {};
  const bar = part(box, "bar");
  const percent = typeof p.percent === "number" ? p.percent : null;
  if (percent === null) {
    bar.removeAttribute("value"); // indeterminate: the job has not said how much there is
    bar.removeAttribute("aria-valuenow");
  } else {
    bar.value = percent;
    bar.setAttribute("aria-valuenow", String(percent));
  }
  part(box, "percent").textContent = percent === null ? "" : `${percent.toFixed(1)} %`;
  part(box, "step").textContent = p.current_step || "Starting";
  const done = fmtNumber(p.items_processed ?? 0);
  const items = p.items_total ? `${done} / ${fmtNumber(p.items_total)} items` : `${done} items`;
  part(box, "items").textContent = p.items_failed ? `${items} (${fmtNumber(p.items_failed)} failed)` : items;
  part(box, "elapsed").textContent = `· ${formatDuration(p.elapsed_ms)} elapsed`;
}

function renderLive(root, job, run) {
  const live = part(root, "live");
  live.hidden = !run;
  if (!run) return;
  part(live, "bar").setAttribute("aria-label", `Progress of ${job.title}`);
  fillProgress(live, run);
}

function renderCard(job) {
  const entry = cards.get(job.name) || createCard(job);
  entry.job = job;
  const root = entry.root;
  part(root, "title").textContent = job.title;
  for (const hidden of root.querySelectorAll('[data-role="for"]')) hidden.textContent = ` ${job.title}`;
  part(root, "gear-label").textContent = `Schedule of ${job.title}`;
  part(root, "name").textContent = job.name;
  part(root, "description").textContent = job.description || "";
  badge(part(root, "badge"), job.state);
  root.dataset.state = job.state;
  const last = job.last_run;
  part(root, "last-run").replaceChildren(...(last
    ? [timeEl(last.finished_at || last.started_at || last.queued_at), document.createTextNode(` · ${formatDuration(last.duration_ms)}${last.variant !== "regular" ? ` · ${last.variant}` : ""}`)]
    : [document.createTextNode("Never")]));
  part(root, "next-run").replaceChildren(nextRunText(job));
  let result = "—";
  if (last) result = last.status === "completed" ? summarize(last.result) : last.status;
  // Failed runs show their error in the error box; a cancelled one says why on the result line.
  if (last && last.status === "cancelled" && last.error) result = /cancel/i.test(last.error) ? last.error : `cancelled: ${last.error}`;
  part(root, "last-result").textContent = result;
  renderLive(root, job, job.current_run);
  const failed = last && last.status === "failed" && !job.current_run;
  part(root, "error-box").hidden = !failed;
  part(root, "error").textContent = failed ? last.error || "no reason was given" : "";
  part(root, "check").textContent = failed ? `What to check: ${whatToCheck(last.error)}` : "";
  // Cancel only when there is something to cancel: a running or a queued run.
  part(root, "cancel").hidden = !(job.current_run || job.queued_runs > 0);
  part(root, "manual-only").hidden = !job.manual_only;
  part(root, "gear").hidden = job.manual_only;
}

// ---- Queue ----

function titleOf(name) { return cards.has(name) ? cards.get(name).job.title : name; }

function renderQueue(queue) {
  const box = $("queue-running");
  const run = queue.running;
  part(box, "idle").hidden = Boolean(run);
  const block = part(box, "run");
  block.hidden = !run;
  if (run) {
    block.dataset.runId = run.id;
    part(block, "title").textContent = titleOf(run.job);
    part(block, "variant").textContent = run.variant !== "regular" ? `(${run.variant})` : "";
    fillProgress(block, run);
    part(block, "cancel").disabled = Boolean(run.cancel_requested);
    part(block, "cancel").textContent = run.cancel_requested ? "Cancelling…" : "Cancel this run";
  }
  $("queue-waiting").replaceChildren(...queue.queued.map((q) => el("li", {
    "data-run-id": q.id,
    text: `${titleOf(q.job)}${q.variant !== "regular" ? ` (${q.variant})` : ""} · ${q.trigger} · queued ${relative(q.queued_at)}`,
  })));
  $("queue-empty").hidden = queue.queued.length > 0;
}

async function cancelRunning() {
  const runId = part($("queue-running"), "run").dataset.runId;
  if (!runId) return;
  await act(async () => {
    await api("POST", `/api/runs/${enc(runId)}/cancel`);
    showNotice("Cancel requested.");
  });
}

// ---- Pipelines: one button per kind the API offers, steps advancing, the step that stopped it ----

let pipelines = [];
const pipelineRuns = JSON.parse(sessionStorage.getItem(PIPELINE_STORAGE) || "{}"); // kind -> [run ids]
const pipelineState = new Map(); // kind -> [Run]

async function loadPipelines() {
  try {
    pipelines = (await api("GET", "/api/pipelines")).pipelines;
  } catch (err) {
    pipelines = [];
  }
  const list = $("pipeline-list");
  list.replaceChildren(...pipelines.map((p) => {
    const button = el("button", { type: "button", "data-kind": p.kind, text: `Run the ${p.kind} pipeline` });
    button.addEventListener("click", () => startPipeline(p));
    const steps = el("ol", { class: "steps", "data-role": "steps", "aria-label": `Steps of the ${p.kind} pipeline` },
      p.steps.map((s) => el("li", { "data-job": s.job }, [
        el("span", { class: "step-dot", "aria-hidden": "true" }), el("span", { class: "step-title", text: s.title }),
        el("span", { class: "step-state", "data-role": "state" }),
      ])));
    return el("div", { class: "pipeline panel", "data-kind": p.kind }, [
      el("div", { class: "pipeline-head" }, [el("h3", { text: `${p.kind[0].toUpperCase()}${p.kind.slice(1)}` }), button]),
      steps, el("p", { class: "pipeline-status muted", "data-role": "status", "aria-live": "polite" }),
    ]);
  }));
  $("pipelines").hidden = pipelines.length === 0;
}

async function startPipeline(p) {
  await act(async () => {
    const answer = await api("POST", p.path);
    pipelineRuns[p.kind] = answer.runs.map((r) => r.id);
    sessionStorage.setItem(PIPELINE_STORAGE, JSON.stringify(pipelineRuns));
    pipelineState.set(p.kind, answer.runs);
    showNotice(`The ${p.kind} pipeline is queued: ${answer.runs.length} steps.`);
  });
}

function forgetPipeline(kind) {
  delete pipelineRuns[kind];
  pipelineState.delete(kind);
  sessionStorage.setItem(PIPELINE_STORAGE, JSON.stringify(pipelineRuns));
}

async function refreshPipelines() {
  for (const p of pipelines) {
    const ids = pipelineRuns[p.kind];
    if (!ids) continue;
    const known = pipelineState.get(p.kind) || [];
    const active = !known.length || known.some((r) => r.status === "queued" || r.status === "running");
    if (!active) continue;
    try {
      pipelineState.set(p.kind, await Promise.all(ids.map((id) => api("GET", `/api/runs/${enc(id)}`))));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) forgetPipeline(p.kind); // pruned from the history
      else throw err;
    }
  }
  for (const p of pipelines) renderPipeline(p, pipelineState.get(p.kind) || lastRunsOf(p));
}

// Not started from this tab: each step's own last run (or its current one) tells where things stand.
function lastRunsOf(p) {
  const byName = new Map(jobList.map((job) => [job.name, job]));
  const runs = p.steps.map((s) => byName.get(s.job)).filter(Boolean).map((job) => job.current_run || job.last_run).filter(Boolean);
  runs.untracked = true;
  return runs;
}

function renderPipeline(p, runs) {
  const box = document.querySelector(`.pipeline[data-kind="${CSS.escape(p.kind)}"]`);
  if (!box) return;
  const byJob = new Map(runs.map((r) => [r.job, r]));
  for (const li of box.querySelectorAll("li[data-job]")) {
    const run = byJob.get(li.dataset.job);
    const state = run ? run.status : "idle";
    li.dataset.state = state;
    let text = run ? run.status : "";
    if (run && run.status === "running" && run.progress && typeof run.progress.percent === "number") text = `running ${run.progress.percent.toFixed(0)} %`;
    if (run && run.status === "completed") text = summarize(run.result) || "completed";
    part(li, "state").textContent = text;
  }
  const status = part(box, "status");
  const button = box.querySelector("button[data-kind]");
  const busy = !runs.untracked && runs.some((r) => r.status === "queued" || r.status === "running");
  button.disabled = busy;
  status.classList.remove("run-error");
  if (!runs.length || runs.untracked) {
    status.textContent = "Runs every step in order; each starts only after the previous one completed."
      + (runs.length ? " The dots show each step's last run." : "");
    return;
  }
  const stopped = runs.find((r) => r.status === "failed") || runs.find((r) => r.status === "cancelled");
  const current = runs.findIndex((r) => r.status === "running");
  if (stopped) status.textContent = `Stopped at ${titleOf(stopped.job)}: ${stopped.error || stopped.status}`;
  else if (current >= 0) status.textContent = `Step ${current + 1} of ${runs.length}: ${titleOf(runs[current].job)}`;
  else if (busy) status.textContent = "Queued: waiting for the worker.";
  else {
    const ms = runs.reduce((sum, r) => sum + (r.duration_ms || 0), 0);
    status.textContent = `All ${runs.length} steps completed in ${formatDuration(ms)}.`;
  }
  status.classList.toggle("run-error", Boolean(stopped));
  box.dataset.state = stopped ? "failed" : busy ? "running" : "completed";
}

// ---- Failure alerts: once per failed run, dismissible, switched on or off for this browser ----

const seenFailures = new Set(JSON.parse(localStorage.getItem(SEEN_STORAGE) || "[]"));
const alertsOn = () => localStorage.getItem(ALERTS_STORAGE) !== "off";

function remember(runId) {
  seenFailures.add(runId);
  const ids = [...seenFailures].slice(-SEEN_LIMIT);
  localStorage.setItem(SEEN_STORAGE, JSON.stringify(ids));
}

function announceFailures(jobs) {
  for (const job of jobs) {
    const run = job.last_run;
    if (!run || run.status !== "failed" || seenFailures.has(run.id)) continue;
    remember(run.id);
    if (alertsOn()) showAlert(job, run);
  }
}

function showAlert(job, run) {
  const dismiss = el("button", { type: "button", class: "secondary small-button", text: "Dismiss" });
  const open = el("button", { type: "button", class: "secondary small-button", text: "Show log" });
  const box = el("div", { class: "alert", "data-run-id": run.id, role: "group", "aria-label": `${job.title} failed` }, [
    el("p", {}, [el("strong", { text: `${job.title} failed` }), document.createTextNode(" "), timeEl(run.finished_at)]),
    el("p", { text: run.error || "no reason was given" }),
    el("p", { class: "small", text: `What to check: ${whatToCheck(run.error)}` }),
    el("div", { class: "alert-actions" }, [open, dismiss]),
  ]);
  dismiss.append(el("span", { class: "sr-only", text: ` the alert about ${job.title}` }));
  dismiss.addEventListener("click", () => {
    // Focus goes to the next alert, or to the content, never lost on a removed button.
    const next = box.nextElementSibling || box.previousElementSibling;
    box.remove();
    (next ? next.querySelector("button") : $("main")).focus();
  });
  open.addEventListener("click", () => openLog(run));
  $("alerts").prepend(box);
}

// ---- History: runs, the duration trend of the last 50, paging ----

const historyState = { job: "", status: "", before: null };

function fillHistoryJobs() {
  const select = $("history-job");
  const have = new Set([...select.options].map((o) => o.value));
  for (const job of jobList) if (!have.has(job.name)) select.append(el("option", { value: job.name, text: job.title }));
}

async function loadHistory(reset) {
  if (reset) historyState.before = null;
  const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (historyState.job) query.set("job", historyState.job);
  if (historyState.status) query.set("status", historyState.status);
  if (historyState.before) query.set("before", String(historyState.before));
  const want = `${historyState.job}|${historyState.status}`;
  try {
    const page = await api("GET", `/api/runs?${query}`);
    if (want !== `${historyState.job}|${historyState.status}`) return;
    const rows = page.runs.map(historyRow);
    if (reset) $("history-runs").replaceChildren(...rows);
    else $("history-runs").append(...rows);
    $("history-empty").hidden = $("history-runs").children.length > 0;
    historyState.before = page.next_before;
    $("history-more").hidden = !historyState.before;
  } catch (err) {
    showError(err.message);
  }
  if (reset) await drawTrend();
}

function historyRow(run) {
  const state = el("span", { class: "badge" });
  badge(state, run.status);
  const open = el("button", { type: "button", class: "secondary small-button", "data-run-id": run.id, text: "Log" });
  open.append(el("span", { class: "sr-only", text: ` of ${titleOf(run.job)} ${formatTime(run.started_at || run.queued_at)}` }));
  open.addEventListener("click", () => openLog(run));
  const line = runLine(run);
  return el("tr", { "data-run-id": run.id, "data-status": run.status }, [
    el("td", {}, [state]),
    el("td", { text: titleOf(run.job) }),
    el("td", {}, [timeEl(run.started_at || run.queued_at)]),
    el("td", { text: `${run.trigger}${run.variant !== "regular" ? ` · ${run.variant}` : ""}` }),
    el("td", { class: "num", text: formatDuration(run.duration_ms) }),
    el("td", { class: run.status === "failed" ? "run-error result-cell" : "result-cell", text: line, title: line }),
    el("td", {}, [open]),
  ]);
}

async function drawTrend() {
  const chart = $("trend-chart");
  const caption = $("trend-caption");
  if (!historyState.job) {
    chart.replaceChildren();
    caption.textContent = "Choose a job to see how long its last 50 runs took.";
    return;
  }
  let runs;
  try {
    runs = (await api("GET", `/api/jobs/${enc(historyState.job)}/runs?limit=${TREND_RUNS}`)).runs;
  } catch (err) {
    showError(err.message);
    return;
  }
  const finished = runs.filter((r) => r.duration_ms !== null).reverse(); // oldest first, left to right
  if (finished.length < 2) {
    chart.replaceChildren();
    caption.textContent = `${titleOf(historyState.job)}: the trend appears after two finished runs.`;
    return;
  }
  chart.replaceChildren(trendSvg(finished));
  const failed = finished.filter((r) => r.status === "failed").length;
  const sorted = finished.map((r) => r.duration_ms).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  caption.textContent = `${titleOf(historyState.job)}: duration of the last ${finished.length} runs, oldest left. Median ${formatDuration(median)}, latest ${formatDuration(finished[finished.length - 1].duration_ms)}${failed ? `, ${failed} failed (marked ✕)` : ""}.`;
}

function trendSvg(runs) {
  // Drawn at the width it is shown, so the marks stay round at any width.
  const W = Math.max(300, Math.round($("trend-chart").clientWidth || 640)), H = 180, L = 56, R = 12, T = 12, B = 28;
  const max = Math.max(...runs.map((r) => r.duration_ms)) || 1;
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, runs.length - 1);
  const y = (ms) => T + (H - T - B) * (1 - ms / max);
  const points = runs.map((r, i) => `${x(i).toFixed(1)},${y(r.duration_ms).toFixed(1)}`).join(" ");
  const grid = [0, 0.5, 1].map((f) => svg("g", {}, [
    svg("line", { x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), class: "grid" }),
    svg("text", { x: L - 6, y: y(max * f) + 4, "text-anchor": "end", class: "axis" }, [document.createTextNode(formatDuration(Math.round(max * f)))]),
  ]));
  const marks = runs.map((r, i) => {
    const label = svg("title", {}, [document.createTextNode(`${formatTime(r.started_at)}: ${formatDuration(r.duration_ms)}, ${r.status}`)]);
    if (r.status === "failed") {
      const cx = x(i), cy = y(r.duration_ms), s = 5;
      return svg("g", { class: "mark failed", "data-status": "failed" }, [label,
        svg("path", { d: `M${cx - s},${cy - s}L${cx + s},${cy + s}M${cx - s},${cy + s}L${cx + s},${cy - s}` })]);
    }
    return svg("circle", { cx: x(i), cy: y(r.duration_ms), r: 3.5, class: `mark ${r.status}`, "data-status": r.status }, [label]);
  });
  return svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "trend-caption", class: "trend-svg" }, [
    ...grid,
    svg("text", { x: L, y: H - 8, class: "axis" }, [document.createTextNode("older")]),
    svg("text", { x: W - R, y: H - 8, "text-anchor": "end", class: "axis" }, [document.createTextNode("latest")]),
    svg("polyline", { points, class: "line" }),
    ...marks,
  ]);
}

// ---- A run's log: level filter, errors and warnings highlighted ----

let logLines = [];
let logRun = null;

async function openLog(run) {
  logRun = run;
  logLines = [];
  const dialog = $("log-dialog");
  $("log-title").textContent = `Log: ${titleOf(run.job)}`;
  $("log-summary").textContent = `${run.status} · ${run.trigger} · started ${formatTime(run.started_at || run.queued_at)} · ${formatDuration(run.duration_ms)}${run.status === "completed" ? ` · ${summarize(run.result)}` : ""}`;
  $("log-error").hidden = !run.error;
  $("log-error").textContent = run.error ? `Error: ${run.error} — What to check: ${whatToCheck(run.error)}` : "";
  const counts = Object.entries(run.result || {}).filter(([k]) => k !== "follow_ups");
  $("log-result").hidden = counts.length === 0;
  $("log-result-list").replaceChildren(...counts.flatMap(([k, v]) => [el("dt", { text: k.replaceAll("_", " ") }), el("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })]));
  $("log-lines").replaceChildren();
  if (!dialog.open) dialog.showModal();
  let after = 0;
  try {
    for (;;) {
      const page = await api("GET", `/api/runs/${enc(run.id)}/logs?after=${after}`);
      if (logRun !== run) return;
      logLines.push(...page.logs);
      if (!page.logs.length || page.next_after === after) break;
      after = page.next_after;
    }
  } catch (err) {
    showError(err.message);
    return;
  }
  renderLog();
}

function renderLog() {
  const min = LEVELS.indexOf($("log-level").value);
  const rank = (level) => { const i = LEVELS.indexOf(level); return i < 0 ? 1 : i; };
  const shown = logLines.filter((line) => rank(line.level) >= min);
  $("log-lines").replaceChildren(...shown.map((line) => {
    const children = [
      el("span", { class: "level", "data-level": line.level, text: line.level.toUpperCase() }),
      el("time", { datetime: line.ts, title: formatTime(line.ts), text: `${new Date(line.ts).toLocaleTimeString()} ` }),
      el("span", { class: "log-message", text: line.message }),
    ];
    if (line.data && Object.keys(line.data).length) children.push(el("code", { class: "log-data", text: JSON.stringify(line.data) }));
    return el("li", { "data-level": line.level }, children);
  }));
  const errors = logLines.filter((l) => l.level === "error").length;
  const warnings = logLines.filter((l) => l.level === "warning").length;
  $("log-counts").textContent = `${logLines.length} lines · ${errors} errors · ${warnings} warnings`;
  $("log-empty").hidden = shown.length > 0;
}

// ---- Schedule editor (the gear) ----

let scheduleJob = null;
let previewTimer = null;

function openSchedule(job) {
  scheduleJob = job;
  const s = job.schedule;
  $("schedule-title").textContent = `Schedule: ${job.title}`;
  $("schedule-cron").value = s ? s.cron : "0 3 * * *";
  $("schedule-timezone").value = s ? s.timezone : "UTC";
  $("schedule-enabled").checked = s ? s.enabled : true;
  $("schedule-error").textContent = "";
  $("schedule-dialog").showModal();
  $("schedule-cron").focus();
  preview();
}

function schedulePreviewSoon() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(preview, 250);
}

async function preview() {
  const cron = $("schedule-cron").value.trim();
  const timezone = $("schedule-timezone").value.trim() || "UTC";
  const reading = $("schedule-reading");
  if (!cron) { reading.textContent = "Five fields: minute hour day-of-month month day-of-week."; $("schedule-next").replaceChildren(); return; }
  try {
    const p = await api("GET", `/api/schedules/preview?${new URLSearchParams({ cron, timezone })}`);
    if (cron !== $("schedule-cron").value.trim()) return;
    reading.textContent = p.description;
    reading.classList.remove("run-error");
    const off = !$("schedule-enabled").checked;
    $("schedule-next").replaceChildren(...(off ? [el("li", { class: "muted", text: "None while the schedule is off." })]
      : p.next_runs.map((t) => el("li", {}, [el("time", { datetime: t, text: new Date(t).toLocaleString(undefined, { weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" }) }), el("span", { class: "muted", text: ` (${relative(t)})` })]))));
  } catch (err) {
    reading.textContent = err.message;
    reading.classList.add("run-error");
    $("schedule-next").replaceChildren();
  }
}

async function saveSchedule(event) {
  event.preventDefault();
  const job = scheduleJob;
  const body = {
    cron: $("schedule-cron").value.trim(),
    timezone: $("schedule-timezone").value.trim() || "UTC",
    enabled: $("schedule-enabled").checked,
  };
  try {
    const card = await api("PUT", jobPath(job, "/schedule"), body);
    $("schedule-dialog").close();
    renderCard(card);
    showNotice(`${card.title}: schedule saved (${card.schedule.description}).`);
  } catch (err) {
    $("schedule-error").textContent = err.message;
  }
}

// ---- Users and their picks ----

let userId = null;
const posterUrls = new Map(); // item id -> object URL (null when the server has none)

let usersOffset = 0;

// One line per kind a user has (picks and whether the library is written), from GET /api/users.
function userFacts(u) {
  const facts = Object.entries(u.kinds || {}).map(([kind, k]) => {
    const library = k.library && k.library.status ? ` · library ${k.library.status}` : "";
    return `${kind}: ${k.enabled === false ? "off" : `${fmtNumber(k.picks ?? 0)} picks${library}`}`;
  });
  if (u.active === false || u.is_disabled) facts.unshift("disabled");
  return facts.join(" · ");
}

async function loadUsers(more = false) {
  if (!more) usersOffset = 0;
  try {
    const data = await api("GET", `/api/users?${new URLSearchParams({ limit: "50", offset: String(usersOffset) })}`);
    const users = data.users || [];
    const items = users.map((u) => {
      const link = el("a", { href: `#users/${enc(u.id)}`, "data-user-id": u.id }, [
        el("span", { class: "user-name", text: u.name || u.id }),
        el("span", { class: "user-facts muted small", text: userFacts(u) }),
      ]);
      if (u.id === userId) link.setAttribute("aria-current", "true");
      return el("li", {}, [link]);
    });
    if (more) $("user-list").append(...items);
    else $("user-list").replaceChildren(...items);
    if (!more && !users.length) $("user-list").replaceChildren(el("li", { class: "muted", text: "No users yet: run the Sync users job." }));
    usersOffset = data.next_offset ?? null;
    $("users-more").hidden = usersOffset === null || usersOffset === undefined;
  } catch (err) {
    showError(err.message);
    $("users-more").hidden = true;
  }
}

async function openUser(id) {
  userId = id;
  for (const link of $("user-list").querySelectorAll("a")) {
    if (link.dataset.userId === id) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  $("picks").replaceChildren();
  $("picks-meta").textContent = "Loading…";
  loadTrakt(id);
  let data;
  try {
    data = await api("GET", `/api/users/${enc(id)}/recommendations`);
  } catch (err) {
    $("picks-title").textContent = "Picks";
    $("picks-meta").textContent = err.message;
    return;
  }
  if (userId !== id) return;
  const name = $("user-list").querySelector(`a[data-user-id="${CSS.escape(id)}"] .user-name`);
  $("picks-title").textContent = `Picks for ${data.user_name || (name ? name.textContent : id)}`;
  const lib = data.library;
  const libraryText = !lib ? "" : lib.written
    ? ` · Library written: ${fmtNumber(lib.entries)} entries${lib.registered ? ", visible on the server" : ", not yet registered on the server"}`
    : " · Library not written yet";
  $("picks-meta").replaceChildren(
    document.createTextNode(`${fmtNumber(data.recommendations.length)} picks · generated `), timeEl(data.generated_at),
    document.createTextNode(libraryText));
  $("picks").replaceChildren(...data.recommendations.map(pickItem));
  loadPosters(data.recommendations.map((p) => pickedItem(p).id));
  await loadDiscover(id);
}

// ---- Discovery: titles the server does not have, and (with Jellyseerr/Overseerr) an admin's request ----

async function loadDiscover(id) {
  $("discover").replaceChildren();
  let data;
  try {
    data = await api("GET", `/api/users/${enc(id)}/discover`);
  } catch (err) {
    $("discover-meta").textContent = err.message;
    return;
  }
  if (userId !== id) return;
  const found = data.suggestions || [];
  $("discover-meta").replaceChildren(found.length
    ? document.createTextNode(`${fmtNumber(found.length)} suggestions · generated `)
    : document.createTextNode("No suggestions yet: the Generate discovery suggestions job makes them (it needs SIDECAR_TMDB_API_KEY)."));
  if (found.length) $("discover-meta").append(timeEl(data.generated_at));
  $("discover").replaceChildren(...found.map((s) => suggestionItem(id, s, data.requests_enabled)));
}

function requestState(request) {
  return el("p", { class: "request-state small" }, [document.createTextNode(`Requested `), timeEl(request.requested_at)]);
}

function suggestionItem(id, s, canRequest) {
  const facts = [s.kind, (s.genres || []).join(", "), s.certification, `score ${s.score.toFixed(3)}`].filter(Boolean);
  const parts = Object.fromEntries(["content", "support", "popularity"].map((k) => [k, s.breakdown[k]]));
  const body = el("div", { class: "pick-body" }, [
    el("h3", {}, [el("span", { class: "rank", text: `#${s.rank}` }), document.createTextNode(` ${s.title}`),
      el("span", { class: "muted", text: s.year ? ` (${s.year})` : "" })]),
    el("p", { class: "muted small", text: facts.join(" · ") }),
    el("p", { class: "explanation", text: s.reason }),
    s.overview ? el("p", { class: "overview", text: s.overview }) : null,
    el("p", { class: "small" }, [el("a", { href: s.tmdb_url, target: "_blank", rel: "noopener noreferrer", text: `${s.title} on TMDb` })]),
    el("details", { class: "why" }, [el("summary", { text: "Score breakdown" }), breakdownBars(parts)]),
  ]);
  if (s.request && s.request.status === "requested") body.append(requestState(s.request));
  else if (canRequest) {
    const button = el("button", { type: "button", class: "secondary", text: `Request ${s.title}` });
    button.addEventListener("click", async () => {
      clearError();
      button.disabled = true;
      try {
        const answer = await api("POST", `/api/users/${enc(id)}/discover/${enc(s.kind)}/${s.tmdb_id}/request`);
        button.replaceWith(requestState(answer.request));
        showNotice(`${s.title}: requested.`);
      } catch (err) {
        button.disabled = false;
        showError(err instanceof ApiError ? err.message : String(err));
      }
    });
    body.append(button);
  }
  return el("li", { class: "pick suggestion", "data-tmdb-id": String(s.tmdb_id) }, [body]);
}

// ---- A user's Trakt link (device code: the user enters a code at Trakt; we poll at its interval) ----

let traktTimer = null;
const TRAKT_STATES = {
  unlinked: "Not linked. Linking imports this user's Trakt ratings and watch history for titles on the server.",
  pending: "Waiting for the code to be entered at Trakt…",
  expired: "The code expired before it was entered. Link again for a new one.",
  denied: "Access was denied at Trakt.",
  invalid: "Trakt no longer knows that code. Link again for a new one.",
};

function traktText(t) {
  if (!t.configured && t.state !== "linked") return `Trakt is not set up: set ${t.missing_setting} and restart the sidecar.`;
  if (t.state !== "linked") return TRAKT_STATES[t.state] || t.state;
  const synced = t.last_synced_at ? `last import ${formatTime(t.last_synced_at)}` : "not imported yet";
  const counts = `${fmtNumber(t.plays)} plays (${fmtNumber(t.plays_matched)} on the server), ${fmtNumber(t.ratings)} ratings`;
  return `Linked since ${formatTime(t.linked_at)} · ${synced} · ${counts}${t.last_error ? ` · last import failed: ${t.last_error}` : ""}`;
}

function renderTrakt(id, t) {
  if (userId !== id) return;
  $("trakt").hidden = false;
  $("trakt-status").textContent = traktText(t);
  const pending = t.state === "pending" && t.user_code;
  $("trakt-code").hidden = !pending;
  if (pending) {
    $("trakt-url").textContent = t.verification_url;
    $("trakt-url").href = /^https?:\/\//.test(t.verification_url) ? t.verification_url : "#";
    $("trakt-user-code").textContent = t.user_code;
  }
  $("trakt-link").hidden = t.state === "linked" || Boolean(pending);
  $("trakt-link").disabled = !t.configured;
  $("trakt-unlink").hidden = t.state !== "linked";
  clearTimeout(traktTimer);
  // The sidecar asks Trakt only when the code's interval allows; polling at that interval is enough.
  if (pending) traktTimer = setTimeout(() => pollTrakt(id), Math.max(1, t.interval || 5) * 1000);
}

async function loadTrakt(id) {
  clearTimeout(traktTimer);
  $("trakt").hidden = true;
  try { renderTrakt(id, await api("GET", `/api/users/${enc(id)}/trakt`)); } catch (err) { /* no Trakt block then */ }
}

async function pollTrakt(id) {
  if (userId !== id) return;
  try { renderTrakt(id, await api("POST", `/api/users/${enc(id)}/trakt/poll`, {})); } catch (err) {
    $("trakt-status").textContent = err.message;
    traktTimer = setTimeout(() => pollTrakt(id), 10000);
  }
}

async function traktAction(method, path) {
  const id = userId;
  clearError();
  try { renderTrakt(id, await api(method, `/api/users/${enc(id)}/trakt${path}`, method === "POST" ? {} : undefined)); } catch (err) {
    showError(err instanceof ApiError ? err.message : String(err));
  }
}

// The additive parts of a score, drawn as bars against the pick's total relevance.
const BREAKDOWN_SKIP = /(_signal|_similarity|^relevance$)/;

function breakdownBars(breakdown) {
  const parts = Object.entries(breakdown || {}).filter(([k, v]) => typeof v === "number" && !BREAKDOWN_SKIP.test(k));
  const scale = Math.max(...parts.map(([, v]) => Math.abs(v)), 1e-9);
  return el("dl", { class: "bars" }, parts.flatMap(([k, v]) => [
    el("dt", { text: k.replaceAll("_", " ") }),
    el("dd", {}, [
      el("span", { class: `bar${v < 0 || k.includes("penalty") ? " negative" : ""}`, style: `width:${Math.round((100 * Math.abs(v)) / scale)}%` }),
      el("span", { class: "bar-value", text: v.toFixed(3) }),
    ]),
  ]));
}

// The picked item sits under its kind's singular name ("movie", "series"): whichever key holds it.
const pickedItem = (pick) => Object.values(pick).find((v) => v && typeof v === "object" && "title" in v && "id" in v) || {};

function pickItem(pick) {
  const m = pickedItem(pick);
  const poster = el("div", { class: "poster", "data-item": m.id, role: "img", "aria-label": `Poster of ${m.title}` });
  const evidence = (pick.evidence || []).map((e) => `${e.title}${typeof e.similarity === "number" ? ` (${e.similarity.toFixed(2)})` : ""}`);
  return el("li", { class: "pick", "data-movie-id": m.id }, [
    poster,
    el("div", { class: "pick-body" }, [
      el("h3", {}, [el("span", { class: "rank", text: `#${pick.rank}` }), document.createTextNode(` ${m.title}`),
        el("span", { class: "muted", text: m.year ? ` (${m.year})` : "" })]),
      el("p", { class: "muted small", text: `${(m.genres || []).join(", ")} · score ${pick.score.toFixed(3)}` }),
      pick.explanation ? el("p", { class: "explanation", text: pick.explanation }) : null,
      evidence.length ? el("p", { class: "small" }, [el("strong", { text: "Because they watched: " }), document.createTextNode(evidence.join(", "))]) : null,
      el("details", { class: "why" }, [el("summary", { text: "Score breakdown" }), breakdownBars(pick.breakdown)]),
    ]),
  ]);
}

async function loadPosters(ids) {
  // A few at a time, through the sidecar (which holds the server's key) and into object URLs.
  const queue = [...ids];
  const worker = async () => {
    while (queue.length) {
      const id = queue.shift();
      if (!posterUrls.has(id)) {
        try {
          const response = await send("GET", `/api/items/${enc(id)}/poster`, undefined, "image/*");
          posterUrls.set(id, URL.createObjectURL(await response.blob()));
        } catch (err) {
          posterUrls.set(id, null);
        }
      }
      const url = posterUrls.get(id);
      for (const box of document.querySelectorAll(`.poster[data-item="${CSS.escape(id)}"]`)) {
        if (url) box.replaceChildren(el("img", { src: url, alt: "", loading: "lazy" }));
        else box.classList.add("missing");
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

// ---- Views (hash routes: #jobs, #history/<job>, #users/<id>) ----

let currentView = null;

function route() {
  const [view, arg] = (location.hash.slice(1) || "jobs").split("/");
  const name = ["jobs", "history", "users"].includes(view) ? view : "jobs";
  if (name !== currentView) window.scrollTo(0, 0); // a new view starts at its top
  currentView = name;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.dataset.view !== name;
  for (const tab of document.querySelectorAll(".tabs a")) {
    if (tab.dataset.view === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (name === "history") {
    const job = arg ? decodeURIComponent(arg) : "";
    fillHistoryJobs();
    if (job && ![...$("history-job").options].some((o) => o.value === job)) $("history-job").append(el("option", { value: job, text: job }));
    $("history-job").value = job;
    historyState.job = job;
    loadHistory(true);
  }
  if (name === "users") {
    loadUsers().then(() => { if (arg) openUser(decodeURIComponent(arg)); });
  }
}

// ---- Polling, paused while the tab is hidden ----

let pollTimer = null;
let refreshing = null;
let polls = 0;

async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const [jobs, queue] = await Promise.all([api("GET", "/api/jobs"), api("GET", "/api/queue")]);
      jobList = jobs.jobs;
      for (const job of jobList) renderCard(job);
      renderQueue(queue);
      announceFailures(jobList);
      await refreshPipelines();
      polls += 1;
      if (!$("view-history").hidden && polls % 3 === 0 && !$("log-dialog").open && $("history-runs").children.length <= HISTORY_PAGE) {
        await loadHistory(true);
      }
      $("refresh-status").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      $("refresh-status").textContent = `Update failed: ${err.message}`;
      if (!(err instanceof ApiError) || err.status === 0 || err.status >= 500) showError(err.message);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = null;
  if (document.hidden) return;
  pollTimer = setTimeout(async () => {
    await refresh();
    schedulePoll();
  }, POLL_MS);
}

document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    clearTimeout(pollTimer);
    pollTimer = null;
  } else {
    refresh().then(schedulePoll);
  }
});

function fillTimezones() {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  $("timezones").replaceChildren(...["UTC", ...zones].map((zone) => el("option", { value: zone })));
}

document.addEventListener("DOMContentLoaded", async () => {
  fillTimezones();
  $("key-form").addEventListener("submit", keySubmitted);
  part($("queue-running"), "cancel").addEventListener("click", cancelRunning);
  for (const button of document.querySelectorAll("dialog [data-close]")) button.addEventListener("click", () => button.closest("dialog").close());
  $("history-more").addEventListener("click", () => loadHistory(false));
  $("users-more").addEventListener("click", () => loadUsers(true));
  $("trakt-link").addEventListener("click", () => traktAction("POST", "/link"));
  $("trakt-unlink").addEventListener("click", () => traktAction("DELETE", ""));
  $("history-job").addEventListener("change", () => { location.hash = $("history-job").value ? `#history/${enc($("history-job").value)}` : "#history"; });
  $("history-status").addEventListener("change", () => { historyState.status = $("history-status").value; loadHistory(true); });
  $("log-level").addEventListener("change", renderLog);
  $("schedule-form").addEventListener("submit", saveSchedule);
  $("schedule-cron").addEventListener("input", schedulePreviewSoon);
  $("schedule-timezone").addEventListener("input", schedulePreviewSoon);
  $("schedule-enabled").addEventListener("change", preview);
  for (const chip of document.querySelectorAll(".presets [data-cron]")) chip.addEventListener("click", () => { $("schedule-cron").value = chip.dataset.cron; preview(); });
  const toggle = $("alerts-toggle");
  toggle.checked = alertsOn();
  toggle.addEventListener("change", () => localStorage.setItem(ALERTS_STORAGE, toggle.checked ? "on" : "off"));
  window.addEventListener("hashchange", route);
  await refresh();
  await loadPipelines();
  await refreshPipelines();
  route();
  schedulePoll();
});
