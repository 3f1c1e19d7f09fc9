// The Jobs page: polls the JSON job API and renders it. Every server string goes in via textContent.
"use strict";

const POLL_MS = 2000;
const KEY_STORAGE = "sidecar-api-key";
const STATES = ["idle", "queued", "running", "completed", "failed", "cancelled"];

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const $ = (id) => document.getElementById(id);
const part = (root, role) => root.querySelector(`[data-role="${role}"]`);

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
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

async function api(method, path, body) {
  for (;;) {
    const headers = { Accept: "application/json" };
    if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      throw new ApiError(0, "network", "The sidecar cannot be reached; check that it is running.");
    }
    if (response.status === 401) {
      if (apiKey) {
        // The stored key was refused: forget it and ask again.
        apiKey = null;
        sessionStorage.removeItem(KEY_STORAGE);
        showError("The API key was not accepted; enter it again.");
      }
      await askForKey();
      continue;
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const error = data && data.error ? data.error : {};
      throw new ApiError(response.status, error.code || "error", error.message || `The sidecar answered ${response.status}.`);
    }
    return data;
  }
}

// ---- Messages: errors in an assertive live region, confirmations in a polite one ----

let noticeTimer = null;

function showError(message) {
  $("messages").textContent = message;
}

function clearError() {
  $("messages").textContent = "";
}

function showNotice(message) {
  $("notices").textContent = message;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { $("notices").textContent = ""; }, 6000);
}

async function act(what) {
  // Runs a user action; its API error becomes a readable message instead of an exception.
  clearError();
  try {
    await what();
  } catch (err) {
    showError(err instanceof ApiError ? err.message : String(err));
  }
  await refresh();
}

// ---- Formatting ----

function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
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

function formatValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function badge(node, state) {
  const known = STATES.includes(state) ? state : "idle";
  node.dataset.state = known;
  node.textContent = state;
}

// ---- Job cards ----

const cards = new Map(); // job name -> {root, job}
const categories = new Map(); // category -> cards container

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

function createCard(job) {
  const root = $("job-card").content.firstElementChild.cloneNode(true);
  root.dataset.job = job.name;
  root.setAttribute("aria-label", job.title);
  const entry = { root, job };
  part(root, "run").addEventListener("click", () => act(async () => {
    const select = part(root, "variant");
    const variant = entry.job.variants.length > 1 ? select.value : undefined;
    const answer = await api("POST", `/api/jobs/${encodeURIComponent(entry.job.name)}/runs`, variant ? { variant } : undefined);
    showNotice(`${entry.job.title}: run ${answer.run.status}.`);
  }));
  part(root, "cancel").addEventListener("click", () => act(async () => {
    const answer = await api("POST", `/api/jobs/${encodeURIComponent(entry.job.name)}/cancel`);
    showNotice(`${entry.job.title}: cancel requested for ${answer.cancelled.length} run(s).`);
  }));
  part(root, "history").addEventListener("click", () => openHistory(entry.job));
  part(root, "schedule").addEventListener("input", () => { part(root, "schedule").dataset.dirty = "1"; });
  part(root, "schedule").addEventListener("submit", (event) => {
    event.preventDefault();
    act(async () => {
      const body = {
        cron: part(root, "cron").value.trim(),
        timezone: part(root, "timezone").value.trim() || "UTC",
        enabled: part(root, "enabled").checked,
      };
      const card = await api("PUT", `/api/jobs/${encodeURIComponent(entry.job.name)}/schedule`, body);
      fillSchedule(entry, card, true);
      showNotice(`${card.title}: schedule saved.`);
    });
  });
  const select = part(root, "variant");
  for (const variant of job.variants) select.append(el("option", { value: variant, text: variant }));
  part(root, "variant-label").hidden = job.variants.length < 2;
  fillSchedule(entry, job, true);
  categoryContainer(job.category).append(root);
  cards.set(job.name, entry);
  return entry;
}

function fillSchedule(entry, job, overwriteInputs) {
  const root = entry.root;
  const form = part(root, "schedule");
  part(root, "manual-only").hidden = !job.manual_only;
  form.hidden = job.manual_only;
  const schedule = job.schedule;
  // Leave inputs alone once someone has edited them (even after a failed save); refill after a save.
  if (overwriteInputs) delete form.dataset.dirty;
  if (overwriteInputs || (!form.dataset.dirty && !form.contains(document.activeElement))) {
    part(root, "cron").value = schedule ? schedule.cron : "";
    part(root, "timezone").value = schedule ? schedule.timezone : "UTC";
    part(root, "enabled").checked = schedule ? schedule.enabled : true;
  }
  part(root, "schedule-description").textContent = schedule ? schedule.description || "" : "Not scheduled yet.";
  let next = "—";
  if (job.manual_only) next = "manual only";
  else if (!schedule) next = "not scheduled";
  else if (!schedule.enabled) next = "schedule disabled";
  else next = formatTime(schedule.next_run_at);
  part(root, "next-run").textContent = next;
}

function resultList(result) {
  const entries = Object.entries(result || {});
  if (!entries.length) return document.createTextNode("—");
  return el("ul", { class: "result-list" }, entries.map(([k, v]) => el("li", { text: `${k}: ${formatValue(v)}` })));
}

function renderCard(job) {
  const entry = cards.get(job.name) || createCard(job);
  entry.job = job;
  const root = entry.root;
  part(root, "title").textContent = job.title;
  // Buttons say which job they act on to screen readers ("Run Sync movies"), not just "Run".
  for (const hidden of root.querySelectorAll('[data-role="for"]')) hidden.textContent = ` ${job.title}`;
  part(root, "name").textContent = job.name;
  part(root, "description").textContent = job.description || "";
  badge(part(root, "badge"), job.state);
  root.dataset.state = job.state;
  const last = job.last_run;
  part(root, "last-run").textContent = last
    ? `${last.status} · ${formatTime(last.finished_at || last.started_at || last.queued_at)}${last.variant !== "regular" ? ` · ${last.variant}` : ""}`
    : "never";
  part(root, "last-duration").textContent = last ? formatDuration(last.duration_ms) : "—";
  part(root, "last-result").replaceChildren(resultList(last && last.result));
  const error = part(root, "last-error");
  error.hidden = !(last && last.error);
  error.textContent = last && last.error ? `Error: ${last.error}` : "";
  part(root, "cancel").disabled = false;
  fillSchedule(entry, job, false);
}

// ---- Queue ----

function renderQueue(queue) {
  const box = $("queue-running");
  const run = queue.running;
  part(box, "idle").hidden = Boolean(run);
  const block = part(box, "run");
  block.hidden = !run;
  if (run) {
    const title = cards.has(run.job) ? cards.get(run.job).job.title : run.job;
    block.dataset.runId = run.id;
    part(block, "title").textContent = title;
    part(block, "variant").textContent = run.variant !== "regular" ? `(${run.variant})` : "";
    const p = run.progress || {};
    const bar = part(block, "bar");
    const percent = typeof p.percent === "number" ? p.percent : null;
    if (percent === null) {
      bar.removeAttribute("value"); // indeterminate: the job has not said how much there is
      bar.removeAttribute("aria-valuenow");
    } else {
      bar.value = percent;
      bar.setAttribute("aria-valuenow", String(percent));
    }
    part(block, "percent").textContent = percent === null ? "" : `${percent.toFixed(1)} %`;
    part(block, "step").textContent = p.current_step || "";
    const items = p.items_total ? `${p.items_processed ?? 0} / ${p.items_total} items` : `${p.items_processed ?? 0} items`;
    part(block, "items").textContent = p.items_failed ? `${items} (${p.items_failed} failed)` : items;
    part(block, "elapsed").textContent = `elapsed ${formatDuration(p.elapsed_ms)}`;
    part(block, "cancel").disabled = Boolean(run.cancel_requested);
    part(block, "cancel").textContent = run.cancel_requested ? "Cancelling…" : "Cancel this run";
  }
  const list = $("queue-waiting");
  list.replaceChildren(...queue.queued.map((q) => {
    const title = cards.has(q.job) ? cards.get(q.job).job.title : q.job;
    return el("li", { "data-run-id": q.id, text: `${title}${q.variant !== "regular" ? ` (${q.variant})` : ""} · ${q.trigger} · queued ${formatTime(q.queued_at)}` });
  }));
  $("queue-empty").hidden = queue.queued.length > 0;
}

async function cancelRunning() {
  const block = part($("queue-running"), "run");
  const runId = block.dataset.runId;
  if (!runId) return;
  await act(async () => {
    await api("POST", `/api/runs/${encodeURIComponent(runId)}/cancel`);
    showNotice("Cancel requested.");
  });
}

// ---- History dialog ----

let historyJob = null;
let historyBefore = null;

async function openHistory(job) {
  historyJob = job;
  historyBefore = null;
  $("history-title").textContent = `History: ${job.title}`;
  $("history-runs").replaceChildren();
  $("log-lines").replaceChildren();
  $("log-empty").hidden = false;
  $("log-title").textContent = "Log";
  const dialog = $("history");
  if (!dialog.open) dialog.showModal();
  await loadHistoryPage();
}

async function loadHistoryPage() {
  const job = historyJob;
  try {
    const query = new URLSearchParams({ limit: "20" });
    if (historyBefore) query.set("before", String(historyBefore));
    const page = await api("GET", `/api/jobs/${encodeURIComponent(job.name)}/runs?${query}`);
    if (job !== historyJob) return;
    for (const run of page.runs) $("history-runs").append(historyItem(run));
    if (!page.runs.length && !historyBefore) $("history-runs").append(el("li", { class: "muted", text: "No runs yet." }));
    historyBefore = page.next_before;
    $("history-more").hidden = !historyBefore;
  } catch (err) {
    showError(err.message);
  }
}

function historyItem(run) {
  const state = el("span", { class: "badge" });
  badge(state, run.status);
  const button = el("button", { type: "button", "data-run-id": run.id }, [
    state,
    el("span", { text: formatTime(run.started_at || run.queued_at) }),
    el("span", { class: "muted", text: `${formatDuration(run.duration_ms)} · ${run.trigger}${run.variant !== "regular" ? ` · ${run.variant}` : ""}` }),
  ]);
  button.addEventListener("click", () => showLog(run, button));
  return el("li", {}, [button]);
}

async function showLog(run, button) {
  for (const other of $("history-runs").querySelectorAll("button")) other.removeAttribute("aria-current");
  button.setAttribute("aria-current", "true");
  $("log-title").textContent = `Log of the run queued ${formatTime(run.queued_at)}`;
  const lines = [];
  let after = 0;
  try {
    for (;;) {
      const page = await api("GET", `/api/runs/${encodeURIComponent(run.id)}/logs?after=${after}`);
      lines.push(...page.logs);
      if (!page.logs.length || page.next_after === after) break;
      after = page.next_after;
    }
  } catch (err) {
    showError(err.message);
    return;
  }
  const items = lines.map((line) => {
    const children = [
      el("span", { class: "level", "data-level": line.level, text: line.level.toUpperCase() }),
      el("time", { datetime: line.ts, text: `${new Date(line.ts).toLocaleTimeString()} ` }),
      el("span", { class: "log-message", text: line.message }),
    ];
    if (line.data && Object.keys(line.data).length) children.push(el("code", { class: "log-data", text: JSON.stringify(line.data) }));
    return el("li", {}, children);
  });
  if (run.error) items.push(el("li", { class: "run-error", text: `Error: ${run.error}` }));
  $("log-lines").replaceChildren(...items);
  $("log-empty").hidden = items.length > 0;
  $("log-empty").textContent = "This run wrote no log lines.";
  if (!items.length) $("log-empty").hidden = false;
}

// ---- Polling, paused while the tab is hidden ----

let pollTimer = null;
let refreshing = null;

async function refresh() {
  if (refreshing) return refreshing;
  refreshing = (async () => {
    try {
      const [jobs, queue] = await Promise.all([api("GET", "/api/jobs"), api("GET", "/api/queue")]);
      for (const job of jobs.jobs) renderCard(job);
      renderQueue(queue);
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

document.addEventListener("DOMContentLoaded", () => {
  fillTimezones();
  $("key-form").addEventListener("submit", keySubmitted);
  part($("queue-running"), "cancel").addEventListener("click", cancelRunning);
  $("history-close").addEventListener("click", () => $("history").close());
  $("history-more").addEventListener("click", loadHistoryPage);
  refresh().then(schedulePoll);
});
