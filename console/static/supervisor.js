// The supervisor view keeps its figures current: it fetches them again every few seconds and
// writes each one into the cell with the same data-figure key, as text (never innerHTML).
"use strict";

(() => {
  const view = document.querySelector(".supervisor[data-period]");
  if (!view) return;
  const period = view.dataset.period;
  const every = Math.max(5, Number(view.dataset.refresh) || 15) * 1000;

  async function refresh() {
    try {
      const reply = await fetch(`/api/supervisor?period=${encodeURIComponent(period)}`, {
        headers: { Accept: "application/json" },
      });
      if (reply.status === 401) {
        location.assign("/login");
        return;
      }
      if (!reply.ok) return;
      const { display } = await reply.json();
      for (const cell of view.querySelectorAll("[data-figure]")) {
        const text = display[cell.dataset.figure];
        if (typeof text === "string" && cell.textContent !== text) cell.textContent = text;
      }
    } catch {
      // Offline for a moment: the next round tries again.
    }
  }

  setInterval(refresh, every);
})();
