// Live updates for the agent console: server-sent events, text only (never innerHTML).
"use strict";

(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  // A change for the server, as JSON with the session's CSRF token; a refusal throws its reason.
  async function post(url, body, fallback) {
    const reply = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const answer = await reply.json().catch(() => ({}));
    if (!reply.ok) throw new Error(answer.error || fallback);
    return answer;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.append(td);
    return td;
  }

  function waited(since) {
    const minutes = Math.max(0, Math.floor((Date.now() / 1000 - since) / 60));
    return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  function refreshTimes() {
    for (const time of document.querySelectorAll("time[data-since]")) {
      time.textContent = waited(Number(time.dataset.since));
    }
  }

  function liveQueue() {
    const rows = document.getElementById("queue-rows");
    if (!rows) return;
    const events = new EventSource("/stream/queue");
    events.addEventListener("queue", (event) => {
      const { queue } = JSON.parse(event.data);
      rows.replaceChildren();
      for (const entry of queue) {
        const row = document.createElement("tr");
        row.className = `priority-${entry.priority}`;
        const link = document.createElement("a");
        link.href = `/conversations/${encodeURIComponent(entry.reference)}`;
        link.textContent = entry.reference;
        cell(row, "").append(link);
        cell(row, entry.customer || "not verified");
        cell(row, entry.channel);
        cell(row, entry.reason);
        cell(row, entry.team);
        cell(row, String(entry.priority));
        const time = document.createElement("time");
        time.dataset.since = String(entry.created_at);
        cell(row, "").append(time);
        cell(row, entry.assignee ? `${entry.status} (${entry.assignee})` : entry.status);
        rows.append(row);
      }
      document.getElementById("queue-count").textContent = `${queue.length} open`;
      refreshTimes();
    });
    events.addEventListener("signed_out", () => location.assign("/login"));
  }

  function appendLine(list, line) {
    if (list.querySelector(`li[data-id="${line.id}"]`)) return;
    const item = document.createElement("li");
    item.className = `line ${line.role}`;
    item.dataset.id = String(line.id);
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = { staff: line.name || "Staff", agent: "Assistant", customer: "Customer" }[line.role] || "";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = line.text;
    item.append(who, text);
    if (line.buttons.length) {
      const buttons = document.createElement("span");
      buttons.className = "buttons";
      buttons.textContent = `[${line.buttons.join(" | ")}]`;
      item.append(buttons);
    }
    list.append(item);
    item.scrollIntoView({ block: "nearest" });
  }

  function liveConversation() {
    const view = document.querySelector(".conversation");
    if (!view) return;
    const list = document.getElementById("transcript");
    const reference = encodeURIComponent(view.dataset.reference);
    const events = new EventSource(`/stream/conversations/${reference}?after=${view.dataset.lastLine}`);
    events.addEventListener("lines", (event) => {
      for (const line of JSON.parse(event.data).lines) appendLine(list, line);
    });
    events.addEventListener("entry", (event) => {
      const entry = JSON.parse(event.data);
      const mine = entry.mine ? "yes" : "no";
      // Claimed, transferred, assigned or closed: the actions on the page no longer apply.
      const changed =
        entry.status !== view.dataset.status ||
        mine !== view.dataset.mine ||
        entry.team !== view.dataset.team ||
        (entry.assignee || "") !== view.dataset.assignee;
      if (changed) location.reload();
    });
    // Transferred to a queue this member does not see.
    events.addEventListener("gone", () => location.assign("/"));
    events.addEventListener("signed_out", () => location.assign("/login"));

    const form = document.getElementById("reply-form");
    if (!form) return;
    const box = document.getElementById("reply");
    const error = document.getElementById("reply-error");
    box.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      if (!text) return;
      error.hidden = true;
      try {
        const answer = await post(form.action, { text }, "Not sent.");
        box.value = "";
        if (!answer.delivered) {
          error.textContent = "Saved in the transcript; this channel cannot show it to the customer now.";
          error.hidden = false;
        }
      } catch (problem) {
        error.textContent = problem.message;
        error.hidden = false;
      }
      box.focus();
    });
  }

  // Puts the chosen canned response into the reply box at the cursor, as plain text.
  function cannedPicker() {
    const picker = document.getElementById("canned");
    const insert = document.getElementById("canned-insert");
    const box = document.getElementById("reply");
    if (!picker || !insert || !box) return;
    insert.addEventListener("click", () => {
      const chosen = picker.selectedOptions[0];
      if (!chosen) return;
      const text = chosen.dataset.text || "";
      const start = box.selectionStart ?? box.value.length;
      const end = box.selectionEnd ?? start;
      box.value = box.value.slice(0, start) + text + box.value.slice(end);
      box.focus();
      box.setSelectionRange(start + text.length, start + text.length);
    });
  }

  // Saves a private note without leaving the page (a draft reply stays as it is).
  function noteForm() {
    const form = document.getElementById("note-form");
    if (!form) return;
    const box = document.getElementById("note");
    const list = document.getElementById("note-list");
    const error = document.getElementById("note-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = box.value.trim();
      if (!text) return;
      error.hidden = true;
      try {
        const answer = await post(form.action, { text }, "Not saved.");
        list.querySelector(".empty")?.remove();
        const item = document.createElement("li");
        item.className = "note";
        const who = document.createElement("span");
        who.className = "who";
        who.textContent = answer.author || "";
        const when = document.createElement("time");
        when.dateTime = new Date(answer.at * 1000).toISOString();
        when.textContent = "just now";
        const body = document.createElement("span");
        body.className = "text";
        body.textContent = answer.text;
        item.append(who, " ", when, " ", body);
        list.append(item);
        box.value = "";
      } catch (problem) {
        error.textContent = problem.message;
        error.hidden = false;
      }
      box.focus();
    });
  }

  refreshTimes();
  setInterval(refreshTimes, 30000);
  liveQueue();
  liveConversation();
  cannedPicker();
  noteForm();
})();
