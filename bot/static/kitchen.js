// The kitchen display: tickets arrive by server-sent events; buttons POST status changes.
// Every value from a ticket is untrusted (customer names, notes, addresses): it only ever
// reaches the page through textContent, never as HTML.
"use strict";

const FLOW = ["new", "preparing", "ready", "done"];
const BUMP_LABEL = { new: "Start", preparing: "Ready", ready: "Done" };
// Cancelling is final (stock goes back, the customer is told), so it is only offered before
// the food is made, and only after the cook confirms it.
const CANCELLABLE = ["new", "preparing"];
const FINISHED = ["done", "cancelled"]; // shown in the "recent" section, not the open list
const LATE_AFTER_MINUTES = 20;
const tickets = new Map(); // order number -> {number, status, status_at, ticket, cancel}
const csrf = document.querySelector('meta[name="kitchen-csrf"]').content;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function age(createdAt) {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(createdAt)) / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const mm = String(minutes % 60).padStart(hours ? 2 : 1, "0");
  const ss = String(seconds % 60).padStart(2, "0");
  return { text: hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`, late: minutes >= LATE_AFTER_MINUTES };
}

function localTime(iso) {
  // The ticket's times are the shop's local time with an offset: show them as written.
  return typeof iso === "string" ? iso.slice(11, 16) : "";
}

function lineNode(line) {
  const li = el("li");
  const variant = line.variant ? ` (${line.variant})` : "";
  li.append(el("div", "item", `${line.quantity} x ${line.product}${variant}`));
  for (const option of line.options || []) {
    const qualifier = option.qualifier ? `${option.qualifier} ` : "";
    li.append(el("div", "option", `+ ${qualifier}${option.name}`));
  }
  for (const removed of line.removed || []) {
    li.append(el("div", "removed", `NO ${String(removed.name).toUpperCase()}`));
  }
  if (line.note) li.append(el("div", "line-note", `“${line.note}”`));
  return li;
}

function card(view) {
  const ticket = view.ticket;
  const order = ticket.order || {};
  const node = el("article", `ticket ${view.status}`);
  node.dataset.number = String(view.number);
  node.dataset.status = view.status;

  const top = el("div", "top");
  top.append(el("span", "number", order.display_number || `#${view.number}`));
  const ageNode = el("span", "age");
  ageNode.dataset.created = order.created_at || "";
  top.append(ageNode);
  node.append(top);

  const meta = el("div", "meta");
  meta.append(el("span", "time", localTime(order.created_at)), " · ",
              el("span", "status", view.status));
  node.append(meta);
  // Who cancelled it and what the customer was told, so the cook knows why it left.
  const cancel = view.cancel || {};
  const by = cancel.by_words ? ` by ${cancel.by_words}` : "";
  const why = cancel.reason ? `: ${cancel.reason}` : "";
  if (by || why) node.append(el("div", "cancel-reason", `CANCELLED${by}${why}`));

  const customer = (ticket.customer && ticket.customer.first_name) || "";
  const fulfillment = String(order.fulfillment || "pickup").toUpperCase();
  node.append(el("div", "who", customer ? `${fulfillment} · ${customer}` : fulfillment));
  if (ticket.delivery) {
    const where = ticket.delivery.address || "location pin";
    node.append(el("div", "address", `TO: ${where}`));
  }
  if (ticket.prepare_at) {
    node.append(el("div", "preorder",
                   `PRE-ORDER for ${ticket.prepare_at.slice(0, 10)} ${localTime(ticket.prepare_at)}`));
  }
  if (ticket.note) node.append(el("div", "note", `NOTE: ${ticket.note}`));

  const lines = el("ul", "lines");
  for (const line of ticket.lines || []) lines.append(lineNode(line));
  node.append(lines);

  const buttons = el("div", "buttons");
  const here = FLOW.indexOf(view.status);
  if (here >= 0 && here < FLOW.length - 1) {
    const bump = el("button", "bump", BUMP_LABEL[view.status]);
    bump.type = "button";
    bump.addEventListener("click", () => change(view.number, FLOW[here + 1], bump));
    buttons.append(bump);
  }
  if (here > 0) {
    const undo = el("button", "undo", "Undo");
    undo.type = "button";
    undo.title = `back to ${FLOW[here - 1]}`;
    undo.addEventListener("click", () => change(view.number, FLOW[here - 1], undo));
    buttons.append(undo);
  }
  if (CANCELLABLE.includes(view.status)) {
    const cancel = el("button", "cancel", "Cancel");
    cancel.type = "button";
    cancel.title = "cancel the order: its stock goes back and the customer is told";
    cancel.addEventListener("click", () => {
      const shown = order.display_number || `#${view.number}`;
      if (window.confirm(`Cancel order ${shown}? The customer is told and its stock goes back. ` +
                         "This cannot be undone.")) {
        change(view.number, "cancelled", cancel);
      }
    });
    buttons.append(cancel);
  }
  node.append(buttons);
  return node;
}

function render() {
  const open = [], done = [];
  for (const view of [...tickets.values()].sort((a, b) => a.number - b.number)) {
    (FINISHED.includes(view.status) ? done : open).push(view);
  }
  document.getElementById("tickets").replaceChildren(...open.map(card));
  document.getElementById("done").replaceChildren(...done.reverse().slice(0, 12).map(card));
  document.getElementById("done-section").hidden = done.length === 0;
  document.getElementById("empty").hidden = open.length > 0;
  const counts = FLOW.slice(0, 3).map((s) => `${open.filter((v) => v.status === s).length} ${s}`);
  document.getElementById("counts").textContent = counts.join(" · ");
  tick();
}

function tick() {
  for (const node of document.querySelectorAll(".age")) {
    if (!node.dataset.created) continue;
    const { text, late } = age(node.dataset.created);
    node.textContent = text;
    node.classList.toggle("late", late);
  }
}

function problem(text) {
  const node = document.getElementById("problem");
  node.textContent = text || "";
  node.hidden = !text;
}

async function change(number, status, button) {
  button.disabled = true;
  try {
    const response = await fetch(`/kitchen/orders/${number}/status`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Kitchen-CSRF": csrf },
      body: JSON.stringify({ status }),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      problem(`Order #${number}: ${answer.error || `the server answered ${response.status}`}`);
    } else {
      problem("");
    }
  } catch (error) {
    problem(`Order #${number}: not changed, the server cannot be reached`);
  } finally {
    button.disabled = false;
  }
}

function connect() {
  const connection = document.getElementById("connection");
  const events = new EventSource("/kitchen/events");
  events.addEventListener("open", () => {
    connection.textContent = "live";
    connection.className = "connection live";
  });
  events.addEventListener("snapshot", (event) => {
    tickets.clear();
    for (const view of JSON.parse(event.data).tickets) tickets.set(view.number, view);
    render();
  });
  events.addEventListener("ticket", (event) => {
    const view = JSON.parse(event.data);
    tickets.set(view.number, view);
    render();
  });
  events.addEventListener("error", () => {
    connection.className = "connection offline";
    // The browser retries by itself, unless the server refused us (e.g. a new token).
    connection.textContent = events.readyState === EventSource.CLOSED
      ? "disconnected: reload the page" : "reconnecting…";
  });
}

connect();
setInterval(tick, 1000);
