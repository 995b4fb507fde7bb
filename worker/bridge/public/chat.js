// The chat page: keeps the conversation, sends it to /v1/chat/completions, shows each answer with its receipt.
const log = document.getElementById("log");
const form = document.getElementById("composer");
const prompt = document.getElementById("prompt");
const send = document.getElementById("send");
const field = (id) => document.getElementById(id);
const conversation = [];

field("apiKey").value = new URLSearchParams(location.hash.slice(1)).get("key") ?? localStorage.getItem("triad-api-key") ?? "";
field("apiKey").addEventListener("change", () => localStorage.setItem("triad-api-key", field("apiKey").value));
loadModels();

function show(who, text, className = "") {
  const item = document.createElement("div");
  item.className = `message ${className}`;
  item.innerHTML = `<div class="who"></div><div class="text"></div>`;
  item.querySelector(".who").textContent = who;
  item.querySelector(".text").textContent = text;
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

function showReceipt(item, triad) {
  const receipt = document.createElement("div");
  receipt.className = "receipt";
  receipt.dataset.taskId = triad.task_id;
  const parts = [`task ${triad.task_id}`, `nodes ${triad.nodes.join(", ")}`, `result hash ${triad.result_hash}`, `seed ${triad.seed}`];
  receipt.textContent = parts.join(" · ");
  item.append(receipt);
}

const ATTEMPTS = 5;

/** A fresh Idempotency-Key (getRandomValues also works where the page is not a secure context). */
function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `chat-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/**
 * POSTs one message under its own Idempotency-Key and repeats it, with the same key, after a dropped connection,
 * a 504 (the task is still running) or an error the bridge marks retryable: a repeat answers from the task
 * already paid for and never pays a second one.
 */
async function complete(body, pending) {
  const key = idempotencyKey();
  for (let attempt = 1; ; attempt++) {
    let response;
    try {
      response = await fetch("/v1/chat/completions", { method: "POST", headers: { ...headers(), "idempotency-key": key }, body });
    } catch (error) {
      if (attempt >= ATTEMPTS) throw error;
    }
    const repeat = response && (response.status === 504 || response.headers.get("x-should-retry") === "true");
    if (response && (!repeat || attempt >= ATTEMPTS)) return response;
    pending.querySelector(".text").textContent = `connection lost or slow; asking again (attempt ${attempt + 1}, same request)…`;
    await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
  }
}

function headers() {
  return { "content-type": "application/json", authorization: `Bearer ${field("apiKey").value}` };
}

async function loadModels() {
  try {
    const response = await fetch("/v1/models", { headers: headers() });
    const body = await response.json();
    field("model").replaceChildren(...(body.data ?? []).map((m) => new Option(m.id, m.id)));
  } catch {
    // shown on the first request instead
  }
}

function settings() {
  const number = (id) => (field(id).value === "" ? undefined : Number(field(id).value));
  const request = {
    model: field("model").value || "stories260K",
    temperature: number("temperature"),
    top_p: number("top_p"),
    max_tokens: number("max_tokens"),
    n: number("n"),
    seed: number("seed"),
    repetition_penalty: number("repetition_penalty"),
  };
  if (request.temperature !== 0 && number("top_k") !== 0) request.top_k = number("top_k");
  return request;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = prompt.value.trim();
  if (!text) return;
  if (!field("model").value) await loadModels();
  conversation.push({ role: "user", content: text });
  show("you", text);
  prompt.value = "";
  send.disabled = true;
  const pending = show("triad", "waiting for three nodes to agree…", "pending");
  try {
    const response = await complete(JSON.stringify({ ...settings(), messages: conversation }), pending);
    const body = await response.json();
    pending.remove();
    if (!response.ok) throw new Error(body.error?.message ?? `HTTP ${response.status}`);
    for (const choice of body.choices) {
      const item = show(body.choices.length > 1 ? `triad (answer ${choice.index + 1})` : "triad", choice.message.content, "answer");
      showReceipt(item, body.triad);
    }
    conversation.push({ role: "assistant", content: body.choices[0].message.content });
  } catch (error) {
    pending.remove();
    conversation.pop();
    show("error", error.message, "error");
  } finally {
    send.disabled = false;
    prompt.focus();
  }
});
