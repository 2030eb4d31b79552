// HARVESTER dashboard: a banner while the node is not healthy. Polls /health (open, no token)
// and names every component that is degraded or down, with its reason and since-when.
const POLL_MS = 5000;
const el = document.querySelector('[data-testid="health-banner"]');

function describe(name, c) {
  const since = c.since ? ` since ${new Date(c.since).toLocaleTimeString()}` : "";
  return `${name} ${c.status}${c.reason ? `: ${c.reason}` : ""}${since}`;
}

function show(body, httpStatus) {
  if (!el) return;
  const bad = Object.entries(body?.components ?? {}).filter(([, c]) => c.status !== "ok");
  for (const [id, n] of Object.entries(body?.nodes ?? {})) {
    if (n.status !== "online") {
      bad.push([`node ${id}`, { status: n.status === "stale" ? "degraded" : "down" }]);
    }
  }
  const status = httpStatus === 503 ? "down" : (body?.status ?? "ok");
  if (status === "ok" && bad.length === 0) {
    el.hidden = true;
    return;
  }
  el.hidden = false;
  el.dataset.level = status;
  el.querySelector(".banner-title").textContent = httpStatus === 503
    ? "This node cannot do its job."
    : `Node ${status}.`;
  const list = el.querySelector(".health-list");
  list.replaceChildren(...bad.map(([name, c]) => {
    const li = document.createElement("li");
    li.dataset.component = name;
    li.dataset.status = c.status;
    li.textContent = describe(name, c);
    return li;
  }));
}

async function poll() {
  try {
    const res = await fetch("/health", { cache: "no-store", headers: { accept: "application/json" } });
    show(await res.json(), res.status);
  } catch {
    // The hub itself is unreachable: the connection banner says so.
  }
  setTimeout(poll, POLL_MS);
}

poll();
