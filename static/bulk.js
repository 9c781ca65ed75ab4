// The list's selection and its bar (templates/tickets/_bulk.html; app/tickets/bulk.py).
//
// - A row's checkbox selects it; a shift-click selects (or clears) the range from
//   the row clicked last; `x` toggles the row that has focus; "Select all shown"
//   takes every row on screen.
// - The bar shows while something is selected, and says how many (its status
//   region is read out). Its assignee options (everyone) are loaded as it shows. Clear selection empties it, focus going to the list.
// - Rows are the same for everyone (cached), so they always come unchecked: the
//   selection is kept here, by id, and put back on each row a live refresh or
//   an answer swaps in. A row that leaves the list leaves the selection.
// - An action's answer: after a status or an assignment, the rows it sends are
//   put in place, still selected, and focus stays on the button; after a
//   delete, the rows fade out and focus goes to the row after them (static/ui.js
//   remembers where they stood, for Undo). Failures are ui.js's alerts.
(() => {
  "use strict";
  const FADE_MS = 300; // as a single delete's swap:300ms
  const selected = new Set();
  let anchor = null; // the id of the row clicked last: a shift-click's range starts there
  let pending = null; // {action, ids, focused} of the bulk request in flight

  const bar = () => document.getElementById("bulk");
  const boxes = () => [...document.querySelectorAll("#ticket-list .ticket-row__pick input")];
  const typing = (el) => el.closest?.("input, textarea, select, [contenteditable]:not([contenteditable=false])");

  // The page shows what `selected` says; ids no longer on screen are dropped.
  function show() {
    const form = bar();
    const all = boxes();
    const present = new Set(all.map((box) => box.value));
    for (const id of [...selected]) if (!present.has(id)) selected.delete(id);
    for (const box of all) {
      box.checked = selected.has(box.value);
      box.closest(".ticket-row")?.classList.toggle("is-selected", box.checked);
    }
    if (!form) return;
    for (const jsOnly of form.querySelectorAll(".bulk__all, .bulk__clear")) jsOnly.hidden = false;
    const count = selected.size;
    const hadFocus = form.contains(document.activeElement);
    const shown = !form.classList.contains("has-selection") && count > 0;
    form.classList.toggle("has-selection", count > 0);
    // Everyone who can be assigned, fresh each time the bar shows (a sign-up or a
    // rename since), unless a choice was made in it already.
    const assignee = document.getElementById("bulk-assignee");
    if (shown && assignee && assignee.selectedIndex === 0) htmx.trigger(assignee, "bulk:shown");
    const status = document.getElementById("bulk-count");
    const text = count ? `${count} selected` : "No tickets selected";
    if (status.textContent !== text) status.textContent = text;
    const everything = document.getElementById("select-all");
    const checked = all.filter((box) => box.checked).length;
    everything.checked = all.length > 0 && checked === all.length;
    everything.indeterminate = checked > 0 && checked < all.length;
    if (hadFocus && !count && !pending) focusList(); // the bar is gone from under it
  }

  function focusList() {
    const heading = document.getElementById("list-heading");
    heading?.focus({ preventScroll: true });
  }

  function choose(box, on) {
    if (on) selected.add(box.value);
    else selected.delete(box.value);
  }

  // -- selecting ---------------------------------------------------------------------

  document.addEventListener("click", (event) => {
    const box = event.target.closest?.(".ticket-row__pick input");
    if (!box) return;
    const all = boxes();
    const from = all.findIndex((other) => other.value === anchor);
    if (event.shiftKey && from >= 0) {
      const to = all.indexOf(box);
      for (const other of all.slice(Math.min(from, to), Math.max(from, to) + 1)) choose(other, box.checked);
    } else choose(box, box.checked);
    anchor = box.value;
    show();
  });

  document.addEventListener("change", (event) => {
    if (event.target.id === "select-all") {
      for (const box of boxes()) choose(box, event.target.checked);
      show();
    } else if (event.target.matches?.(".ticket-row__pick input")) {
      choose(event.target, event.target.checked); // Space on a focused checkbox
      show();
    }
  });

  document.addEventListener("click", (event) => {
    if (!event.target.closest?.(".bulk__clear")) return;
    selected.clear();
    show();
    focusList();
  });

  // `x`: the row that has focus (its title, as j and k leave it), in or out.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "x" || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target) || document.getElementById("shortcuts")?.open) return;
    const box = event.target.closest?.(".ticket-row")?.querySelector(".ticket-row__pick input");
    if (!box || !box.checkVisibility()) return;
    event.preventDefault();
    choose(box, !selected.has(box.value));
    anchor = box.value;
    show();
  });

  // Rows swapped in by a live refresh, Load more or a navigation: selection put back.
  let scheduled = false;
  new MutationObserver(() => {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      show();
    });
  }).observe(document.getElementById("main"), { childList: true, subtree: true });
  show();

  // -- acting on the selection -----------------------------------------------------------

  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt !== bar()) return;
    const sent = event.detail.requestConfig.formData;
    pending = { action: sent.get("action"), ids: sent.getAll("ids"), focused: document.activeElement };
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (!pending || event.detail.elt !== bar()) return;
    const { action, ids, focused } = pending;
    pending = null;
    if (!event.detail.successful) return refocus(focused);
    if (action === "delete") return takeOut(ids);
    const template = document.createElement("template");
    template.innerHTML = event.detail.xhr.responseText;
    for (const row of [...template.content.children]) {
      const old = row.id && document.getElementById(row.id);
      if (!old) continue;
      old.replaceWith(row);
      htmx.process(row);
    }
    show();
    refocus(focused);
  });

  // A disabled button loses focus while its request is in flight: it gets it back.
  function refocus(element) {
    const lost = document.activeElement === document.body || !document.activeElement;
    if (lost && element?.isConnected) element.focus();
  }

  // After a delete: the rows fade out, nothing in them usable meanwhile, and focus
  // goes to the first row after them that stays (else before, else the list).
  function takeOut(ids) {
    const rows = ids.map((id) => document.getElementById(`ticket-${id}`)).filter(Boolean);
    const all = [...document.querySelectorAll("#ticket-list .ticket-row")];
    const last = all.indexOf(rows.at(-1));
    const staying = (row) => !rows.includes(row);
    const next = all.slice(last + 1).find(staying) ?? all.slice(0, last).reverse().find(staying);
    for (const row of rows) {
      row.inert = true;
      row.classList.add("htmx-swapping");
      selected.delete(row.id.replace("ticket-", ""));
    }
    if (next) next.querySelector(".ticket-row__title")?.focus();
    else focusList();
    setTimeout(() => {
      for (const row of rows) row.remove();
    }, FADE_MS);
    show();
  }
})();
