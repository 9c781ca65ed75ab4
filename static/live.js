// Live fragments. /events names the cache tags that each invalidation moved; every
// element that declares one of them (data-live-tags) is re-fetched from its
// data-live-src, as htmx would fetch it (HX-Request: true), and swapped in place.
//
// One tab per browser holds the stream (a Web Lock) and hands each event on to the
// others (a BroadcastChannel): over HTTP/1.1 a browser opens at most six
// connections to a host, and one stream per tab would soon take them all.
(() => {
  "use strict";
  const EVENTS_URL = document.currentScript.dataset.events;
  const LOCK = "live-events";
  const BUSY = ".htmx-request, .htmx-swapping, .htmx-settling";
  const BUSY_WAIT_MS = 50; // between two looks at an element htmx is working on
  const REOPEN_MS = 5000; // after the browser gave up on the stream
  const root = document.documentElement;
  const channel = "BroadcastChannel" in window ? new BroadcastChannel(LOCK) : null;
  const refreshing = new Map(); // element id -> "waiting" | "fetching" | "again"
  let lastEventId = "";

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function heard({ id, tags }) {
    if (id) lastEventId = id;
    const everything = tags.includes("*");
    const moved = [...document.querySelectorAll("[data-live-tags][id]")].filter((el) => {
      const held = el.dataset.liveTags.split(/\s+/);
      return everything || held.some((tag) => tags.includes(tag));
    });
    // A fragment inside another one that is re-fetched comes back with it.
    for (const el of moved) {
      if (!moved.some((outer) => outer !== el && outer.contains(el))) refresh(el.id);
    }
  }

  // Events that come while a fragment is being fetched are folded into one more fetch.
  async function refresh(id) {
    const state = refreshing.get(id);
    if (state) {
      if (state === "fetching") refreshing.set(id, "again");
      return;
    }
    try {
      do {
        refreshing.set(id, "waiting");
        await refreshOnce(id);
      } while (refreshing.get(id) === "again");
    } finally {
      refreshing.delete(id);
    }
  }

  async function refreshOnce(id) {
    for (;;) {
      const el = document.getElementById(id);
      const src = el?.dataset.liveSrc;
      if (!src) return; // gone with a navigation
      if (busy(el)) {
        await sleep(BUSY_WAIT_MS);
        continue;
      }
      refreshing.set(id, "fetching");
      let html;
      try {
        const response = await fetch(src, { headers: { "HX-Request": "true" } });
        if (!response.ok) return;
        html = await response.text();
      } catch {
        return; // offline: the resync that follows a reconnection fetches it again
      }
      const now = document.getElementById(id);
      if (now?.dataset.liveSrc !== src) return;
      if (!busy(now)) return swap(now, html);
      // htmx started on it meanwhile (an inline delete's fade): its swap goes first,
      // then this fetch is made again, so that the last word is the server's.
    }
  }

  // htmx is working on this element, inside it, or on a target inside it: swapping
  // it now would pull the ground from under that swap.
  function busy(el) {
    if (el.matches(BUSY) || el.querySelector(BUSY)) return true;
    for (const working of document.querySelectorAll(BUSY)) {
      const selector = working.closest("[hx-target]")?.getAttribute("hx-target");
      try {
        const target = selector ? document.querySelector(selector) : null;
        if (target && el.contains(target)) return true;
      } catch {
        // an extended selector ("closest tr", "next"...): none of those in this app
      }
    }
    return false;
  }

  function swap(el, html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const next = template.content.getElementById(el.id);
    announceLeaving(el, next);
    if (!next) {
      el.remove(); // its source no longer has it: a deleted ticket's row
      return;
    }
    carryDisclosures(el, next);
    const refocus = carryEdits(el, next) ?? keepFocus(el, next);
    const keepPlace = holdPlace(el);
    el.replaceWith(next);
    htmx.process(next);
    keepPlace?.();
    refocus?.();
    if (next.dataset.announce) {
      document.dispatchEvent(new CustomEvent("notice", { detail: { message: next.dataset.announce } }));
    }
  }

  // The focused part of `el` that the new content lacks (a row someone deleted)
  // is said to be leaving, before it goes, so that static/ui.js moves focus on
  // by its rules rather than let it fall to the page.
  function announceLeaving(el, next) {
    const focused = document.activeElement;
    if (!el.contains(focused)) return;
    const part = focused.closest("[id]");
    const stays = next && (part === el || next.querySelector(`#${CSS.escape(part.id)}`));
    if (!stays) document.dispatchEvent(new CustomEvent("live:removing", { detail: part }));
  }

  // What the user typed and has not saved yet outlives the swap, and so do focus
  // and caret. A draft whose form is gone (its ticket was deleted) is kept, in
  // the slot the new content has for it, so that it can still be copied.
  function carryEdits(el, next) {
    let refocus = null;
    const fields = "input[name]:not([type=hidden], [type=checkbox], [type=radio]), textarea[name], select[name]";
    const orphans = new Set();
    const carried = new Set(); // forms with an edit carried over
    for (const field of el.querySelectorAll(fields)) {
      const form = field.form?.id;
      const twin = form && next.querySelector(`#${CSS.escape(form)} [name="${CSS.escape(field.name)}"]`);
      if (!twin) {
        if (field.form && edited(field)) orphans.add(field.form);
        continue;
      }
      if (edited(field)) {
        twin.value = field.value;
        carried.add(field.form);
      }
      if (field === document.activeElement) {
        const { selectionStart: start, selectionEnd: end } = field;
        refocus = () => {
          twin.focus({ preventScroll: true });
          if (typeof start === "number") twin.setSelectionRange(start, end);
        };
      }
    }
    // An edit carried over is still one made from the version its form had:
    // a save then clashes with what changed since, rather than overwriting it.
    for (const form of carried) {
      const twin = next.querySelector(`#${CSS.escape(form.id)} input[name=version]`);
      if (twin && form.elements.version) twin.value = form.elements.version.value;
    }
    const slot = next.querySelector("[data-draft-slot]");
    for (const form of slot ? orphans : []) {
      const focused = form.contains(document.activeElement) ? document.activeElement : null;
      form.removeAttribute("id");
      for (const button of form.querySelectorAll("button")) button.disabled = true;
      slot.append(form); // moved, with what was typed in it
      slot.hidden = false;
      if (focused) refocus = () => focused.focus({ preventScroll: true });
    }
    return refocus;
  }

  // A panel the reader opened (Edit, New ticket) stays open, and a closed one closed.
  function carryDisclosures(el, next) {
    for (const details of el.querySelectorAll("details[id]")) {
      const twin = next.querySelector(`#${CSS.escape(details.id)}`);
      if (twin instanceof HTMLDetailsElement) twin.open = details.open;
    }
  }

  // Focus on a link or button inside a swapped element stays on its twin: found
  // by its id, else by its place among the focusable elements of the nearest
  // ancestor that has an id.
  const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
  function keepFocus(el, next) {
    const focused = document.activeElement;
    if (!focused || focused === document.body || !el.contains(focused)) return null;
    const scope = focused.closest("[id]") ?? el;
    const at = [...scope.querySelectorAll(FOCUSABLE)].indexOf(focused);
    return () => {
      const twin = focused.id
        ? document.getElementById(focused.id)
        : document.getElementById(scope.id)?.querySelectorAll(FOCUSABLE)[at];
      (twin ?? document.getElementById(scope.id))?.focus({ preventScroll: true });
    };
  }

  // A fragment that starts above the screen (a long list scrolled down) changes out
  // of sight: what the reader was looking at (the focused row, else the first one
  // on screen) stays where it was on the screen, whatever came or went above it.
  function holdPlace(el) {
    if (el.getBoundingClientRect().top >= 0) return null;
    const focused = el.contains(document.activeElement) ? document.activeElement.closest("[id]") : null;
    const anchor = focused ?? [...el.querySelectorAll("[id]")].find((child) => child.getBoundingClientRect().bottom > 0);
    if (!anchor) return null;
    const { id } = anchor;
    const top = anchor.getBoundingClientRect().top;
    return () => {
      const twin = document.getElementById(id);
      if (twin) window.scrollBy(0, twin.getBoundingClientRect().top - top);
    };
  }

  function edited(field) {
    if (field instanceof HTMLSelectElement) {
      return [...field.options].some((option) => option.selected !== option.defaultSelected);
    }
    return field.value !== field.defaultValue;
  }

  function stream() {
    const url = new URL(EVENTS_URL, location.href);
    if (lastEventId) url.searchParams.set("last_event_id", lastEventId); // what we missed
    const source = new EventSource(url);
    source.onopen = () => {
      const wasDown = root.dataset.live === "connecting";
      root.dataset.live = "open";
      document.dispatchEvent(new Event("live:up"));
      // What happened while we were away may be more than the server can replay.
      if (wasDown) heard({ tags: ["*"] });
    };
    source.addEventListener("invalidate", (event) => {
      const message = { id: event.lastEventId, tags: JSON.parse(event.data).tags };
      channel?.postMessage(message);
      heard(message);
    });
    source.onerror = () => {
      root.dataset.live = "connecting";
      document.dispatchEvent(new Event("live:down")); // static/ui.js's offline banner
      // The browser reconnects by itself (with Last-Event-ID) unless the answer was
      // not a stream at all (a proxy's 502): then it gives up, and we start over.
      if (source.readyState === EventSource.CLOSED) setTimeout(stream, REOPEN_MS);
    };
  }

  // A page restored from htmx's history cache, or from the browser's back-forward
  // cache, is as old as when it was left.
  document.addEventListener("htmx:historyRestore", () => heard({ tags: ["*"] }));
  window.addEventListener("pageshow", (event) => event.persisted && heard({ tags: ["*"] }));

  if (!channel || !navigator.locks) {
    stream(); // no way to share one stream between tabs: each has its own
    return;
  }
  channel.onmessage = (event) => heard(event.data);
  const holdStream = () => new Promise(stream); // held until this tab goes away
  navigator.locks
    .request(LOCK, { ifAvailable: true }, (lock) => {
      if (lock) return holdStream();
      root.dataset.live = "shared"; // another tab streams for this one...
      return navigator.locks.request(LOCK, holdStream); // ...until it closes
    })
    .catch(stream); // locks refused (an opaque origin): a stream of its own
})();
