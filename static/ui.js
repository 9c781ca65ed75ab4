// Every action answers. What this script adds to the server's pages:
//
// - Notices: an action's answer carries a `notice` event (app/notices.py); it is
//   shown as a toast in a polite live region, with Undo after a delete.
// - Failures: a request that fails leaves its control showing the server's truth
//   (a status select goes back), and an alert says what failed, with Retry.
// - Offline: a banner while the server or the event stream cannot be reached
//   (live.js says when), cleared when they are back.
// - Focus, by these rules, and no others:
//   1. after an inline delete, on the neighbouring row (the next, else the
//      previous), or on the list's heading when the list is empty;
//   2. after a status change, it stays on the select (htmx keeps it by its id);
//   3. after a validation error, on the first invalid field (the server marks it
//      autofocus; htmx focuses it);
//   4. after a navigation, on the new page's heading; after "Load more", on the
//      first row it added;
//   5. a live refresh never moves focus, scroll or caret (live.js); a row it
//      removes hands focus on as rule 1 says.
// - The status select saves on an explicit choice: a pick from its open list,
//   Enter, or its Save button; arrow keys only look through the options.
// - Notices stay few: at most three at once (older ones fold into "N more"),
//   never over the control that has focus, and `n` reaches the latest one.
// - The create form: after a create, what was sent is cleared (what was typed
//   while it was saving stays) and so are the messages of an earlier try; a
//   click on the emptied form just after (a double click's second) sends nothing.
// - Search words are shown as typed (the server shows them folded: the page is
//   one cache entry for every spelling).
// - Keyboard shortcuts: c, e, /, j, k, u, n, ? (never while typing in a field).
// - The top bar's Sign in and Sign up come back to the page they left.
(() => {
  "use strict";
  const NOTICE_MS = 6000; // how long a notice stays (paused while hovered or focused)
  const MAX_NOTICES = 3; // shown at once; older ones fold into "N more"
  const UNDO_MS = 10000; // how long Undo is offered
  const OFFLINE_GRACE_MS = 1000; // a stream that reconnects at once is no outage
  const DOUBLE_CLICK_MS = 800; // a click this soon after a create's answer repeats it
  const notices = document.getElementById("notices");
  const alerts = document.getElementById("alerts");
  const offline = document.getElementById("offline");
  const LIST_URL = document.currentScript.dataset.list; // where `c` and `/` lead

  htmx.config.timeout = 20000; // a request the server never answers fails, visibly

  // -- toasts ----------------------------------------------------------------

  // A toast: a message, and maybe actions ([label, run, accessible name]). Errors go to the
  // alert region and stay until dismissed; others go away by themselves.
  function toast(message, { actions = [], error = false, ms = NOTICE_MS } = {}) {
    const box = document.createElement("div");
    box.className = error ? "toast toast--error" : "toast";
    const text = document.createElement("p");
    text.textContent = message;
    box.append(text);
    for (const [label, run, name] of actions) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button button--small";
      button.textContent = label;
      if (name) button.setAttribute("aria-label", name);
      button.addEventListener("click", () => {
        dismiss(box);
        run();
      });
      box.append(button);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "toast__close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => dismiss(box));
    box.append(close);
    (error ? alerts : notices).append(box);
    if (!error) expireAfter(box, ms);
    tidyNotices();
    return box;
  }

  // At most MAX_NOTICES boxes: the newest ones, and, when there are more, a line
  // that says how many more (they keep their timers, and `u` still reaches an
  // older Undo). Then the stack is kept off the control that has focus.
  const more = document.createElement("p");
  more.className = "toast toast--more";
  function tidyNotices() {
    const boxes = [...notices.querySelectorAll(":scope > .toast:not(.toast--more)")];
    const shown = boxes.length > MAX_NOTICES ? MAX_NOTICES - 1 : MAX_NOTICES;
    boxes.forEach((box, at) => {
      box.hidden = at < boxes.length - shown;
    });
    const folded = boxes.length - shown;
    if (folded > 0) {
      more.textContent = `${folded} more ${folded === 1 ? "notice" : "notices"}`;
      notices.prepend(more);
    } else more.remove();
    keepClear();
  }

  // The notices sit over the bottom of the page: the page may scroll past them
  // (scroll-padding and room at the end), and the control that has focus (the
  // row being worked on) is moved out from under them.
  function keepClear() {
    const stack = document.querySelector(".toasts");
    const height = notices.childElementCount + alerts.childElementCount ? stack.offsetHeight + 16 : 0;
    document.documentElement.style.scrollPaddingBottom = `${height}px`;
    document.body.style.paddingBottom = `${height}px`;
    const focused = document.activeElement;
    if (!height || !focused || focused === document.body || stack.contains(focused)) return;
    const control = focused.closest(".ticket-row") ?? focused;
    const overlap = control.getBoundingClientRect().bottom - stack.getBoundingClientRect().top + 8;
    const across = control.getBoundingClientRect().right > stack.getBoundingClientRect().left;
    if (overlap > 0 && across) window.scrollBy(0, overlap);
  }
  document.addEventListener("focusin", () => requestAnimationFrame(keepClear));

  // Timing adjustable (WCAG 2.2.1): a toast does not go while the pointer or
  // focus is on it.
  function expireAfter(box, ms) {
    let timer = setTimeout(() => dismiss(box), ms);
    const hold = () => clearTimeout(timer);
    const release = () => {
      if (box.matches(":hover, :focus-within")) return;
      timer = setTimeout(() => dismiss(box), ms / 2);
    };
    box.addEventListener("pointerenter", hold);
    box.addEventListener("focusin", hold);
    box.addEventListener("pointerleave", release);
    box.addEventListener("focusout", () => setTimeout(release));
  }

  function dismiss(box) {
    if (!box.isConnected) return;
    const hadFocus = box.contains(document.activeElement);
    box.remove();
    tidyNotices();
    if (hadFocus) focusHeading(); // never leave focus on nothing
  }

  function clearAlerts() {
    for (const box of [...alerts.children]) dismiss(box);
  }

  // The element that made a request. htmx reports events of a request whose element
  // a swap removed on its nearest ancestor still there, as `detail.elt`.
  const maker = (detail) => detail.requestConfig?.elt ?? detail.elt;

  // -- notices from the server --------------------------------------------------

  document.addEventListener("notice", (event) => {
    const { message, undo, subject } = event.detail;
    if (!undo) return toast(message);
    const name = `Undo: ${message}`;
    const box = toast(message, { actions: [["Undo", () => restore(undo, subject), name]], ms: UNDO_MS });
    box.querySelector("button").dataset.undo = ""; // what `u` presses
  });

  // What an inline delete removed, to put back where it was on Undo.
  const removed = new Map(); // row id -> {parent id, next row id}

  async function restore(url, subject) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "HX-Request": "true", ...(subject && { "HX-Target": subject }) },
      });
    } catch {
      return failed("Could not undo: the server cannot be reached.", () => restore(url, subject));
    }
    if (!response.ok) {
      const text = await response.text();
      return failed(`Could not undo: ${reason(response.status, response.headers.get("content-type"), text)}`);
    }
    const notice = JSON.parse(response.headers.get("HX-Trigger-After-Settle") || "{}").notice;
    const row = putBack(subject, await response.text());
    if (row?.matches(".comment")) row.focus(); // a comment's delete undone
    else if (subject?.startsWith("comment-")) focusHeading("#comments-heading");
    else if (row) focusRow(row);
    else focusListHeading();
    if (notice) toast(notice.message);
  }

  // Each row of `html` (one, or a bulk undo's several) where it was; the first one
  // put back is returned.
  function putBack(id, html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    let first = null;
    for (const row of [...template.content.children]) {
      const where = removed.get(row.id);
      removed.delete(row.id);
      const parent = where && document.getElementById(where.parent);
      const back = document.getElementById(row.id); // the stream brought it back first
      if (!parent || back) {
        first ??= back;
        continue;
      }
      const next = where.next && document.getElementById(where.next);
      parent.insertBefore(row, next?.parentElement === parent ? next : null);
      htmx.process(row);
      first ??= row;
    }
    return first;
  }

  // -- failures and the offline banner -----------------------------------------

  let offlineTimer = null;
  const offlineBecause = new Set(); // "stream" | "requests"

  function wentOffline(cause) {
    offlineBecause.add(cause);
    offlineTimer ??= setTimeout(() => {
      if (offlineBecause.size) offline.hidden = false;
    }, cause === "requests" ? 0 : OFFLINE_GRACE_MS);
  }

  function backOnline(cause) {
    // Only a stream that reopens after going down resyncs the page (static/live.js),
    // which makes what failed moot. Its first open resyncs nothing, and one request
    // that worked says nothing of another that failed: their alerts and Retry stay.
    const resynced = cause === "stream" && offlineBecause.has("stream");
    offlineBecause.delete(cause);
    if (cause === "stream") offlineBecause.delete("requests"); // the server is back
    if (offlineBecause.size) return;
    clearTimeout(offlineTimer);
    offlineTimer = null;
    if (!offline.hidden) {
      offline.hidden = true;
      if (resynced) clearAlerts();
      toast("Back online.");
    }
  }

  document.addEventListener("live:down", () => wentOffline("stream"));
  document.addEventListener("live:up", () => backOnline("stream"));

  function failed(message, retry) {
    const actions = retry ? [["Retry", retry]] : [];
    toast(message, { error: true, actions });
  }

  // Why the server refused, in its own words when it gave some.
  function reason(status, type, text) {
    if (status >= 500) return "something went wrong on the server. Try again in a moment.";
    if (type?.startsWith("text/plain") && text.length < 300) return text;
    const said = new DOMParser().parseFromString(text, "text/html").querySelector("p");
    return said?.textContent.trim() || `the server answered ${status}.`;
  }

  // What was being done, in words, for an alert.
  function attempted(elt) {
    const row = elt.closest(".ticket-row");
    const title = row?.querySelector(".ticket-row__title")?.textContent.trim();
    if (elt.matches(".ticket-row__status")) return `Could not change the status of “${title}”`;
    if (elt.matches(".ticket-row__delete")) return `Could not delete “${title}”`;
    if (elt.closest(".ticket-row__delete, .ticket-delete")) return "Could not delete the ticket";
    if (elt.matches(".bulk")) return "Could not change the selected tickets";
    if (elt.closest(".comment-delete")) return "Could not delete the comment";
    if (elt.id === "comment-form") return "Could not add the comment";
    if (elt.matches("form")) return "Could not save";
    return "Could not open the page";
  }

  function retryOf(elt, detail) {
    if (elt === document.body) return () => navigate(detail.pathInfo.requestPath); // navigate()
    if (elt.matches(".ticket-row__status")) {
      const id = elt.closest(".ticket-row").id;
      const value = detail.requestConfig.parameters.status;
      return () => choose(document.getElementById(id)?.querySelector("select"), value);
    }
    const type = detail.requestConfig.triggeringEvent?.type ?? (elt.matches("form") ? "submit" : "click");
    return () => elt.isConnected && htmx.trigger(elt, type);
  }

  // The control returns to the server's truth: what the page last rendered.
  function revert(elt) {
    const select = elt.matches(".ticket-row__status") && elt.querySelector("select");
    if (select) {
      for (const option of select.options) option.selected = option.defaultSelected;
      elt.classList.remove("is-pending");
      queued.delete(select.id);
    }
  }

  document.addEventListener("htmx:sendError", (event) => {
    const elt = maker(event.detail);
    revert(elt);
    wentOffline("requests");
    failed(`${attempted(elt)}: the server cannot be reached.`, retryOf(elt, event.detail));
  });
  document.addEventListener("htmx:timeout", (event) => {
    const elt = maker(event.detail);
    revert(elt);
    failed(`${attempted(elt)}: the server did not answer.`, retryOf(elt, event.detail));
  });
  document.addEventListener("htmx:responseError", (event) => {
    const { xhr } = event.detail;
    const elt = maker(event.detail);
    revert(elt);
    const why = reason(xhr.status, xhr.getResponseHeader("content-type"), xhr.responseText);
    failed(`${attempted(elt)}: ${why}`, xhr.status >= 500 ? retryOf(elt, event.detail) : null);
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.successful) backOnline("requests");
  });

  // A page that is not found is still a page: a navigation shows it.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr, boosted } = event.detail;
    if (boosted && xhr.status === 404) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A save that clashed with someone else's (409) comes back as a panel that
  // takes the edit form's place (HX-Retarget); focus goes to its heading. Any
  // other 409 (a revert over a later change) stays a failure that says why.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr } = event.detail;
    if (xhr.status === 409 && xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.xhr?.status !== 409) return;
    document.querySelector("#edit-conflict h2")?.focus();
  });

  // -- navigation ------------------------------------------------------------

  let focusAfterNavigation = null; // an element id, else the page's heading

  // An action that navigates answers HX-Redirect; htmx would reload the whole
  // page, losing the notice it carries. It is loaded as a boosted link would be.
  document.addEventListener("htmx:beforeOnLoad", (event) => {
    const { xhr } = event.detail;
    const url = xhr.getResponseHeader("HX-Redirect");
    if (!url || xhr.status >= 300) return;
    event.preventDefault();
    const triggers = JSON.parse(xhr.getResponseHeader("HX-Trigger") || "{}");
    navigate(url).then(() => {
      for (const [name, detail] of Object.entries(triggers)) htmx.trigger(document.body, name, detail);
    });
  });

  function navigate(url, focusId = null) {
    focusAfterNavigation = focusId;
    return htmx
      .ajax("GET", url, { target: "#main", swap: "innerHTML show:window:top", push: url })
      .catch(() => location.assign(url));
  }

  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target?.id !== "main" || !event.detail.requestConfig) return;
    const wanted = focusAfterNavigation && document.getElementById(focusAfterNavigation);
    focusAfterNavigation = null;
    if (wanted) {
      const closed = wanted.closest("details:not([open])");
      if (closed) closed.open = true; // `c` from another page: the form it leads to
      wanted.focus();
    } else if (!document.querySelector("#main [autofocus]")) focusHeading();
  });

  // The page's heading (after a navigation), or the list's (when the list empties).
  function focusHeading(which = "#main h1") {
    const heading = document.querySelector(which) ?? document.getElementById("main");
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  const focusListHeading = () => focusHeading("#list-heading");

  // -- loading -----------------------------------------------------------------

  // What a request will replace is busy until it answers (aria-busy); a request
  // that takes long shows a bar at the top of the page, and its control is
  // disabled meanwhile (hx-disabled-elt, in the templates).
  const SLOW_MS = 150;
  let inFlight = 0;
  let slowTimer = null;
  document.addEventListener("htmx:beforeRequest", (event) => {
    event.detail.target?.setAttribute("aria-busy", "true");
    inFlight += 1;
    slowTimer ??= setTimeout(() => document.documentElement.classList.add("is-loading"), SLOW_MS);
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    event.detail.target?.removeAttribute("aria-busy");
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight) return;
    clearTimeout(slowTimer);
    slowTimer = null;
    document.documentElement.classList.remove("is-loading");
  });

  // -- rows: delete, load more, and the neighbours focus goes to ---------------

  const rows = () => [...document.querySelectorAll("#ticket-list .ticket-row")];

  function focusRow(row) {
    row?.querySelector(".ticket-row__title")?.focus();
  }

  // Where focus goes when `row` leaves: the next row, else the previous one; never
  // one that is leaving too (a delete still fading out).
  function neighbour(row) {
    const all = rows();
    const at = all.indexOf(row);
    const staying = (other) => other !== row && !other.matches(".htmx-swapping");
    return all.slice(at + 1).find(staying) ?? all.slice(0, at).reverse().find(staying) ?? null;
  }

  // A row a live refresh removes (someone else deleted it) follows rule 1 too.
  // Its neighbour is found now, and focused by id once the swap is done (the
  // swap may replace the neighbour too, with its new self).
  document.addEventListener("live:removing", ({ detail: part }) => {
    const row = part.closest(".ticket-row");
    if (!row) return;
    const nextId = neighbour(row)?.id;
    queueMicrotask(() => {
      const next = nextId && document.getElementById(nextId);
      if (next) focusRow(next);
      else focusListHeading();
    });
  });

  const loadingAfter = new WeakMap(); // a Load more link -> the row before its page

  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = maker(event.detail);
    if (elt.matches("a[rel=next]")) loadingAfter.set(elt, rows().at(-1)?.id);
    if (elt.matches(".ticket-row__delete")) {
      const row = elt.closest(".ticket-row");
      removed.set(row.id, { parent: row.parentElement.id, next: row.nextElementSibling?.id });
    }
    if (elt.matches(".bulk")) {
      // A bulk delete may take the selected rows out (static/bulk.js): where each
      // stood, before the first row after it that stays, for Undo.
      const leaving = rows().filter((row) => row.querySelector(".ticket-row__pick input:checked"));
      for (const row of leaving) {
        let next = row.nextElementSibling;
        while (next && leaving.includes(next)) next = next.nextElementSibling;
        removed.set(row.id, { parent: row.parentElement.id, next: next?.id });
      }
    }
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = maker(event.detail);
    if (!event.detail.successful) return;
    if (elt.matches(".ticket-row__delete")) {
      // Focus moves while the row fades out (its swap is delayed); nothing in it
      // can be used again meanwhile (a second click of a double click).
      const row = elt.closest(".ticket-row");
      row.inert = true;
      const next = neighbour(row);
      if (next) focusRow(next);
      else focusListHeading();
    } else if (loadingAfter.has(elt)) {
      const all = rows();
      focusRow(all[all.findIndex((row) => row.id === loadingAfter.get(elt)) + 1]);
    }
  });

  // -- the create form -----------------------------------------------------------

  // What each create sent, to clear once it is saved: a field edited meanwhile
  // keeps what was typed since (a slow network must not erase it).
  const sentValues = new WeakMap(); // form -> {name: value}
  // When a create last cleared the form: the second click of a double click
  // can land after the first one's answer (a loaded machine, a fast server),
  // on the emptied form, and must not send it to be refused as empty.
  const clearedAt = new WeakMap(); // form -> performance.now()
  document.addEventListener("input", (event) => clearedAt.delete(event.target.form ?? {}));
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = maker(event.detail);
    if (!form.matches(".ticket-form--new")) return;
    const empty = [...form.elements].every((f) => !f.name || f.type === "hidden" || !f.value);
    if (empty && performance.now() - (clearedAt.get(form) ?? -Infinity) < DOUBLE_CLICK_MS) {
      event.preventDefault(); // the click that repeats the one just answered
      return;
    }
    sentValues.set(form, Object.fromEntries([...form.elements].filter((f) => f.name).map((f) => [f.name, f.value])));
  });
  document.addEventListener("htmx:afterRequest", (event) => {
    const form = maker(event.detail);
    const sent = sentValues.get(form);
    sentValues.delete(form);
    const created = event.detail.xhr?.status >= 200 && event.detail.xhr.status < 300;
    if (!sent || !created || !form.isConnected) return;
    for (const field of form.elements) {
      if (!(field.name in sent)) continue;
      if (field.value === sent[field.name]) field.value = "";
      field.defaultValue = ""; // what live.js compares with to find edits
    }
    clearMessages(form);
    clearedAt.set(form, performance.now());
    form.querySelector("input[name=title]")?.focus(); // ready for the next ticket
  });

  // The messages of an earlier, refused try: gone once the form is accepted.
  function clearMessages(form) {
    for (const message of form.querySelectorAll(".field-error, .form-error")) message.remove();
    for (const field of form.querySelectorAll("[aria-invalid]")) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
      field.removeAttribute("autofocus");
    }
  }

  // -- search words as typed -------------------------------------------------------

  // The server shows the words folded ("cafe crem" for "CAFÉ crem"), as the
  // cache entry is shared by every spelling; the box, the heading and the tab's
  // title show what the address says was typed.
  function showTyped() {
    const typed = new URL(location.href).searchParams.get("q")?.trim().replace(/\s+/g, " ");
    const field = document.getElementById("search-q");
    if (!typed || !field) return;
    const folded = field.defaultValue;
    if (document.activeElement !== field) field.value = typed;
    field.defaultValue = typed;
    for (const words of document.querySelectorAll("[data-search-words]")) words.textContent = typed;
    if (folded && folded !== typed) document.title = document.title.replace(`“${folded}”`, `“${typed}”`);
  }
  // The search form sends its filters too; "Anyone" and "Newest" are what the
  // list is without them, so the address it pushes leaves them out.
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id !== "list-search") return;
    const params = event.detail.parameters;
    if (!params.get("assignee")) params.delete("assignee");
    if (params.get("sort") === "created") params.delete("sort");
  });

  showTyped();
  document.addEventListener("htmx:afterSettle", showTyped);
  document.addEventListener("htmx:pushedIntoHistory", showTyped);
  document.addEventListener("htmx:historyRestore", showTyped);

  // -- the status select -----------------------------------------------------

  const BROWSING_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);
  const STATUS_SELECT = ".ticket-row__status select";
  const queued = new Map(); // select id -> the choice made while a save was in flight

  document.addEventListener(
    "keydown",
    (event) => {
      const select = event.target.closest?.(STATUS_SELECT);
      if (!select) return;
      const form = select.form;
      if (event.key === "Enter") {
        event.preventDefault();
        if (form.classList.contains("is-pending")) choose(select, select.value);
      } else if (event.key === "Escape" && form.classList.contains("is-pending")) {
        revert(form);
      } else if (!event.altKey && (BROWSING_KEYS.has(event.key) || /^\w$/.test(event.key))) {
        select.dataset.browsing = "true"; // the change this key makes is no choice
      }
    },
    true,
  );
  document.addEventListener("keyup", (event) => {
    if (event.target.matches?.(STATUS_SELECT)) delete event.target.dataset.browsing;
  });
  document.addEventListener("change", (event) => {
    const select = event.target.closest?.(STATUS_SELECT);
    if (!select) return;
    if (select.dataset.browsing) {
      delete select.dataset.browsing;
      const saved = [...select.options].find((option) => option.defaultSelected)?.value;
      select.form.classList.toggle("is-pending", select.value !== saved);
      return;
    }
    choose(select, select.value);
  });
  document.addEventListener("submit", (event) => {
    const form = event.target;
    // Save (or Enter) while a save is in flight: the last choice goes next.
    if (form.matches(".ticket-row__status") && form.classList.contains("htmx-request")) {
      event.preventDefault();
      event.stopImmediatePropagation();
      queued.set(form.elements.status.id, form.elements.status.value);
    }
  }, true);

  // Save `value`, or, while a save of this row is in flight, save it right after:
  // the last choice wins, and saves reach the server in the order they were made.
  function choose(select, value) {
    if (!select) return;
    select.value = value;
    const form = select.form;
    form.classList.remove("is-pending");
    if (form.classList.contains("htmx-request")) queued.set(select.id, value);
    else {
      htmx.process(form); // a row just swapped in is processed only once it settles
      htmx.trigger(form, "submit");
    }
  }

  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = maker(event.detail);
    if (!elt.matches(".ticket-row__status")) return;
    const id = elt.elements.status.id;
    const value = queued.get(id);
    queued.delete(id);
    if (!event.detail.successful || value === undefined) return;
    const select = document.getElementById(id);
    if (select && select.value !== value) choose(select, value);
  });

  // -- accounts ----------------------------------------------------------------

  // The top bar's Sign in and Sign up are a hole, the same on every page: they
  // take along the page they were followed from, to come back to it (next=).
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[data-next-here]");
    if (!link) return;
    const url = new URL(link.href);
    url.searchParams.set("next", location.pathname + location.search);
    link.href = url.href;
  }, true);  // capture: before the browser follows the link

  // -- keyboard shortcuts ------------------------------------------------------

  const shortcuts = document.getElementById("shortcuts");
  const openShortcuts = () => shortcuts.open || shortcuts.showModal();
  for (const opener of document.querySelectorAll("[data-shortcuts-open]")) {
    opener.hidden = false;
    opener.addEventListener("click", openShortcuts);
  }

  const typing = (el) => el.closest?.("input, textarea, select, [contenteditable]:not([contenteditable=false])");

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (shortcuts.open) return;
    const go = {
      c: () => focusOrOpen("new-title"),
      e: () => openAndFocus("edit-ticket", "edit-title"),
      n: focusNotice,
      "/": () => focusOrOpen("search-q"),
      j: () => step(1),
      k: () => step(-1),
      u: undoLast,
      "?": openShortcuts,
    }[event.key];
    if (!go) return;
    event.preventDefault();
    go();
  });

  // The newest notice's first control (its Undo), from anywhere: one key.
  function focusNotice() {
    const boxes = [...alerts.children, ...notices.querySelectorAll(".toast:not([hidden], .toast--more)")];
    boxes.at(-1)?.querySelector("button")?.focus();
  }

  // A disclosure (New ticket, Edit) opened, and its first field focused.
  function openAndFocus(detailsId, fieldId) {
    const details = document.getElementById(detailsId);
    if (!details?.checkVisibility()) return false;
    details.open = true;
    document.getElementById(fieldId)?.focus();
    return true;
  }

  // Escape closes the New ticket or Edit panel it is pressed in, back on its button.
  document.addEventListener("keydown", (event) => {
    const details = event.key === "Escape" && event.target.closest?.("details.new-ticket[open], details.edit-ticket[open]");
    if (!details || document.getElementById("shortcuts").open) return;
    details.open = false;
    details.querySelector("summary").focus();
  });
  // Opening one with its button puts the caret in its first field.
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (!details.matches?.("details.new-ticket, details.edit-ticket") || !details.open) return;
    // Only when its own button opened it: a live refresh that keeps a panel open
    // fires this too, and focus must stay where the reader was typing.
    if (document.activeElement === details.querySelector("summary")) {
      details.querySelector("input:not([type=hidden])")?.focus();
    }
  }, true);

  // The newest Undo still on offer.
  function undoLast() {
    [...notices.querySelectorAll(".toast [data-undo]")].at(-1)?.click();
  }

  // Focus a field of the list page; from another page, go there first. A
  // visitor has no form to create with (app/holes.py): its way to sign in instead.
  function focusOrOpen(id) {
    const field = document.getElementById(id);
    if (!field) return navigate(LIST_URL, id);
    const details = field.closest("details");
    if (details && openAndFocus(details.id, id)) return;
    if (field.checkVisibility()) return field.focus();
    document.querySelector("#main .page-head .for-visitors a")?.focus();
  }

  function step(by) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(document.activeElement?.closest(".ticket-row"));
    const to = at < 0 ? (by > 0 ? 0 : all.length - 1) : Math.min(Math.max(at + by, 0), all.length - 1);
    focusRow(all[to]);
  }

  // -- comments (issue 24) -----------------------------------------------------------

  // Where a comment stood, for Undo (its delete's empty answer takes it out).
  document.addEventListener("htmx:beforeRequest", (event) => {
    const comment = maker(event.detail)?.closest?.(".comment-delete")?.closest(".comment");
    if (comment) removed.set(comment.id, { parent: comment.parentElement.id, next: comment.nextElementSibling?.id });
  });

  // "Show earlier comments" / "Show earlier changes": the page before is put above
  // (its link hides: static/app.css); focus goes to the first item it shows.
  document.addEventListener("htmx:afterSettle", (event) => {
    if (!maker(event.detail)?.closest?.(".show-earlier")) return;
    const page = event.detail.target?.firstElementChild;
    const first = page?.querySelector(".comment, .timeline__entry");
    if (first) first.focus();
    else page?.querySelector(".show-earlier a")?.focus();
  });

  // A deleted comment's Delete leaves with it: focus goes to the comments' heading.
  // (Adding one focuses the form's field again: its answer marks it autofocus.)
  // After the request, not the settle: its swap took out the element it targets,
  // whose settle no listener here hears.
  document.addEventListener("htmx:afterRequest", (event) => {
    if (!event.detail.successful) return;
    if (maker(event.detail)?.matches?.(".comment-delete")) focusHeading("#comments-heading");
  });
})();
