// The page's one job: turn the form into /api/payloads URLs, a preview and a command.
"use strict";

const FLAGS = ["young", "senior", "dynamic_zip", "dynamic_location", "dynamic_phone"];
const OPTIONS = ["state", "near"];
const PREVIEW_ROWS = 10;
const form = document.getElementById("form");
const status = document.getElementById("status");
let pending = null;
let timer = null;

function randomSeed() {
  // 32 random bits: exact in a JS number, and any seed the CLI accepts replays.
  return String(crypto.getRandomValues(new Uint32Array(1))[0]);
}

// The query of the form's choices; `count` and `format` may be overridden (the preview).
function query(overrides) {
  const data = new FormData(form);
  const params = new URLSearchParams();
  params.set("count", data.get("count") || "0");
  params.set("seed", (data.get("seed") || "").trim());
  const asOf = data.get("as_of");
  if (asOf) params.set("as_of", asOf);
  params.set("format", data.get("format"));
  for (const flag of FLAGS) if (data.get(flag)) params.set(flag, "true");
  for (const option of OPTIONS) {
    const value = (data.get(option) || "").trim();
    if (value) params.set(option, value);
  }
  for (const [key, value] of Object.entries(overrides || {})) params.set(key, value);
  return params;
}

function shellQuote(word) {
  return /^[A-Za-z0-9_./:=-]+$/.test(word) ? word : "'" + word.replace(/'/g, "'\\''") + "'";
}

// The same words as the server's X-Bookslot-Command.
function command(params) {
  const words = ["bookslot-data", "generate", "--output", "-"];
  words.push("--format", params.get("format"), "--count", params.get("count"));
  words.push("--seed", params.get("seed"));
  if (params.has("as_of")) words.push("--as-of", params.get("as_of"));
  for (const flag of FLAGS) if (params.has(flag)) words.push("--" + flag.replace(/_/g, "-"));
  for (const option of OPTIONS) if (params.has(option)) words.push("--" + option, params.get(option));
  return words.map(shellQuote).join(" ");
}

function showError(message) {
  document.getElementById("preview").dataset.params = "";
  status.textContent = message;
  status.classList.add("error");
  document.querySelector("#preview thead").replaceChildren();
  document.querySelector("#preview tbody").replaceChildren();
}

function showRows(rows, params) {
  const head = document.querySelector("#preview thead");
  const body = document.querySelector("#preview tbody");
  const columns = rows.length ? Object.keys(rows[0]) : [];
  const headRow = document.createElement("tr");
  for (const name of columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    headRow.append(th);
  }
  head.replaceChildren(headRow);
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement("tr");
      for (const name of columns) {
        const td = document.createElement("td");
        td.textContent = row[name];
        tr.append(td);
      }
      return tr;
    }),
  );
  status.classList.remove("error");
  status.textContent = `Showing ${rows.length} of ${params.get("count")} records.`;
  // What the rows are of, for readers (and tests) that wait for the preview to catch up.
  document.getElementById("preview").dataset.params = params.toString();
}

// The link, URL and command follow every key stroke; the preview a moment later.
function replay() {
  const params = query();
  const url = new URL("api/payloads?" + params, document.baseURI).href;
  const download = document.getElementById("download");
  download.href = url;
  download.download = `bookslot.${params.get("format")}`;
  document.getElementById("api-url").value = url;
  document.getElementById("command").value = command(params);
}

async function update() {
  replay();
  const params = query();

  const count = Math.min(Number(params.get("count")) || 0, PREVIEW_ROWS);
  if (pending) pending.abort();
  const mine = new AbortController();
  pending = mine;
  form.setAttribute("aria-busy", "true");
  status.textContent = "Loading the preview…";
  try {
    const response = await fetch("api/payloads?" + query({ count: String(count), format: "json" }), {
      signal: mine.signal,
    });
    const answer = await response.json();
    if (!response.ok) {
      const detail = answer.detail;
      showError(Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : String(detail));
      return;
    }
    showRows(answer, params);
  } catch (error) {
    if (error.name !== "AbortError") showError("The preview failed: " + error.message);
    return;
  } finally {
    if (pending === mine) form.removeAttribute("aria-busy");
  }
}

function later() {
  replay();
  clearTimeout(timer);
  timer = setTimeout(update, 250);
}

form.addEventListener("input", later);
form.addEventListener("change", later);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  update();
});
document.getElementById("new-seed").addEventListener("click", () => {
  document.getElementById("seed").value = randomSeed();
  update();
});
document.getElementById("seed").value = randomSeed();
update();
