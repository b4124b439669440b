// The page talks to the API through nginx (/api/...): list on load, add without a reload.
"use strict";

const form = document.getElementById("add-form");
const input = document.getElementById("item-name");
const button = document.getElementById("add-button");
const list = document.getElementById("items");
const empty = document.getElementById("empty");
const count = document.getElementById("count");
const servedBy = document.getElementById("served-by");
const message = document.getElementById("message");

function say(text, kind) {
  message.textContent = text;
  message.className = "message" + (kind ? " " + kind : "");
}

function itemElement(item, isNew) {
  const li = document.createElement("li");
  li.dataset.id = item.id;
  if (isNew) li.className = "new";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = item.name;
  const when = document.createElement("time");
  when.dateTime = item.created_at;
  when.textContent = new Date(item.created_at).toLocaleString();
  li.append(name, when);
  return li;
}

function refreshCount() {
  const n = list.children.length;
  count.textContent = n === 1 ? "1 item" : n + " items";
  empty.hidden = n > 0;
}

async function api(path, options) {
  const response = await fetch("/api" + path, options);
  const body = await response.json().catch(() => ({}));
  if (body.served_by) servedBy.textContent = body.served_by;
  if (!response.ok) throw new Error(body.error || response.status + " " + response.statusText);
  return body;
}

async function load() {
  try {
    const body = await api("/items");
    list.replaceChildren(...body.items.map((item) => itemElement(item, false)));
    refreshCount();
  } catch (error) {
    say("Could not load the items: " + error.message, "error");
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = input.value.trim();
  if (!name) return;
  button.disabled = true;
  try {
    const body = await api("/items", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name }),
    });
    list.prepend(itemElement(body.item, true));
    refreshCount();
    input.value = "";
    say("Added “" + body.item.name + "”.", "ok");
  } catch (error) {
    say("Could not add the item: " + error.message, "error");
  } finally {
    button.disabled = false;
    input.focus();
  }
});

load();
