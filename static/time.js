// Dates said the way people read them: "5 min ago", "yesterday", "3 Mar".
//
// The server writes every date exactly, in UTC (<time datetime=... title=...>),
// because a cached page is served for hours and must be byte for byte what a
// fresh render would say. This turns each one relative, here and in whatever a
// swap or a live refresh brings in later; the exact moment stays as its title
// (shown on hover) and in its datetime attribute.
(() => {
  "use strict";
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;
  const SHORT = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
  const LONG = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });

  function relative(when, now) {
    const ago = now - when;
    if (ago < MINUTE) return "just now";
    if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`;
    if (ago < DAY) return `${Math.floor(ago / HOUR)} h ago`;
    if (ago < 2 * DAY) return "yesterday";
    if (ago < 7 * DAY) return `${Math.floor(ago / DAY)} days ago`;
    const sameYear = new Date(when).getFullYear() === new Date(now).getFullYear();
    return (sameYear ? SHORT : LONG).format(when);
  }

  function update(root = document) {
    const now = Date.now();
    for (const time of root.querySelectorAll("time[datetime]")) {
      const when = Date.parse(time.dateTime);
      if (Number.isNaN(when)) continue;
      const text = relative(when, now);
      if (time.textContent !== text) time.textContent = text;
      time.dataset.relative = "";
    }
  }

  update();
  // Swaps (htmx) and live refreshes (live.js) bring new dates in: each is turned
  // as it arrives, before the next paint.
  new MutationObserver((changes) => {
    for (const change of changes) {
      for (const node of change.addedNodes) {
        if (node.nodeType === Node.ELEMENT_NODE) update(node.matches("time") ? node.parentNode : node);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
  setInterval(update, MINUTE); // "just now" does not stay true
})();
