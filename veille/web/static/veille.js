// Review queue keyboard and in-place saving. Every button also works without this script:
// the forms post and the server redirects back. With it, a change posts in the background
// and the server's re-rendered card replaces the old one.
// Keys: 1 2 3 toggle topics, 0 off-topic, Enter accept and go on, j/k move,
// x exclude, p pin, u undo, ? shortcuts.

// A short message at the bottom of the screen that fades away (errors stay a little longer).
let toastTimer = null;
function toast(text, isError) {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = text;
  status.classList.toggle("error", !!isError);
  status.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => status.classList.remove("shown"), isError ? 6000 : 2200);
}

(() => {
  "use strict";
  const queue = document.querySelector(".queue");
  if (!queue) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const msg = (name) => queue.dataset[name] || "";
  const cards = () => [...queue.querySelectorAll(".card")];
  let current = null;
  let busy = Promise.resolve();

  function say(text, isError) {
    toast(text, isError);
  }

  function loadWhy(card) {
    const box = card.querySelector(".why[data-why]");
    if (!box || box.dataset.loaded) return;
    box.dataset.loaded = "1";
    fetch(box.dataset.why, { headers: { "X-Requested-With": "fetch" } })
      .then((r) => (r.ok ? r.text() : ""))
      .then((html) => { box.innerHTML = html; });
  }

  function select(card, focus = true) {
    if (!card) return;
    if (current) current.classList.remove("current");
    current = card;
    card.classList.add("current");
    if (focus) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest", behavior: "smooth" });
    }
    loadWhy(card);
  }

  function move(step) {
    const all = cards();
    const next = all[all.indexOf(current) + step];
    if (next) select(next);
    else if (step > 0) endOfPage();
  }

  function endOfPage() {
    // Judged items leave the "not yet reviewed" queue, so reloading shows the next batch.
    const next = document.querySelector('a[rel="next"]');
    if (queue.dataset.unreviewed === "1" || !next) window.location.reload();
    else window.location.href = next.href;
  }

  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" },
      body: new URLSearchParams(fields),
    });
    if (response.status === 204) return null;
    if (!response.ok) throw new Error(String(response.status));
    return { html: await response.text(), id: response.headers.get("X-Item-Id") };
  }

  function replace(html, id) {
    const old = document.getElementById("item-" + id);
    if (!old) return null;
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    const fresh = template.content.firstElementChild;
    old.replaceWith(fresh);
    if (current === old) select(fresh, document.activeElement === document.body);
    return fresh;
  }

  // Actions run one after the other so a fast typist never races two saves of one item.
  function run(url, fields, after) {
    busy = busy.then(async () => {
      try {
        const result = await post(url, fields);
        if (!result) { say(msg("nothing")); return; }
        const fresh = replace(result.html, result.id);
        say(fresh || !url.endsWith("/undo") ? msg("saved") : msg("undoneElsewhere"));
        if (after) after(fresh);
      } catch (err) {
        say(msg("failed") + " (" + err.message + ")", true);
      }
    });
  }

  function act(card, action, topic) {
    if (!card) return;
    select(card);
    const url = `/review/items/${card.dataset.id}/${action}`;
    const after = action === "accept" ? (fresh) => { select(fresh); move(1); } : null;
    run(url, topic ? { topic } : {}, after);
  }

  queue.addEventListener("submit", (event) => {
    const form = event.target.closest("form.act");
    if (!form) return;
    event.preventDefault();
    const button = event.submitter;
    const url = (button && button.getAttribute("formaction")) || form.getAttribute("action");
    const action = url.split("/").pop();
    act(form.closest(".card"), action, button && button.name === "topic" ? button.value : null);
  });

  queue.addEventListener("focusin", (event) => {
    const card = event.target.closest(".card");
    if (card && card !== current) select(card, false);
  });

  const undoForm = document.getElementById("undo");
  if (undoForm) {
    undoForm.addEventListener("submit", (event) => {
      event.preventDefault();
      run("/review/undo", {}, (fresh) => { if (fresh) select(fresh); });
    });
  }

  // Shortcuts follow the physical key (event.code), so the digit row works on AZERTY, where
  // the unshifted keys give & é " à, as on QWERTY; letters follow what the key types.
  const DIGITS = { Digit1: "1", Digit2: "2", Digit3: "3", Digit0: "0",
    Numpad1: "1", Numpad2: "2", Numpad3: "3", Numpad0: "0" };
  function shortcut(event) {
    if (DIGITS[event.code]) return DIGITS[event.code];
    if (event.code === "Enter" || event.code === "NumpadEnter") return "Enter";
    return event.key.length === 1 ? event.key.toLowerCase() : event.key;
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const target = event.target;
    if (target.closest("input, select, textarea, [contenteditable]")) return;
    const key = shortcut(event);
    if (key === "Enter" && target.closest("a, button, summary")) return;
    const card = current || cards()[0];
    const topicButton = (n) => card && card.querySelector(`button.topic[data-key="${n}"]`);
    let done = true;
    switch (key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "1": case "2": case "3":
        if (topicButton(key)) act(card, "toggle", topicButton(key).value);
        break;
      case "0": act(card, "offtopic"); break;
      case "Enter": act(card, "accept"); break;
      case "x": act(card, "exclude"); break;
      case "p": act(card, "pin"); break;
      case "u": run("/review/undo", {}, (fresh) => { if (fresh) select(fresh); }); break;
      case "?": {
        const keys = document.querySelector("details.keys");
        if (keys) keys.open = !keys.open;
        break;
      }
      default: done = false;
    }
    if (done) event.preventDefault();
  });

  if (cards().length) select(cards()[0], false);
})();

// Digest preview: its forms save in the background and the entries and the email are redrawn
// from the server's answer, so the page keeps its place. Without this script they post and
// the server redirects back.
(() => {
  "use strict";
  const preview = document.querySelector(".preview");
  if (!preview) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const frame = preview.querySelector(".email iframe");
  const REDRAWN = ["#entries", "#excluded", "#preview-count"];
  let busy = Promise.resolve();

  // On a phone the email comes first but folded, so the entries stay in reach.
  const email = preview.querySelector("details.email");
  if (email && window.matchMedia("(max-width: 959px)").matches) email.open = false;

  preview.addEventListener("submit", (event) => {
    const form = event.target.closest("form");
    if (!form || !form.closest("#entries, #excluded")) return;
    event.preventDefault();
    const button = event.submitter;
    const url = (button && button.getAttribute("formaction")) || form.getAttribute("action");
    const fields = new URLSearchParams(new FormData(form));
    const anchor = form.closest("[id]");
    busy = busy.then(async () => {
      try {
        const response = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" },
          body: fields,
        });
        if (!response.ok) throw new Error(String(response.status));
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const selector of REDRAWN) {
          const old = document.querySelector(selector);
          const now = fresh.querySelector(selector);
          if (old && now) old.replaceWith(now);
        }
        if (frame) frame.src = frame.getAttribute("src");
        const again = anchor && anchor.id && document.getElementById(anchor.id);
        if (again) again.focus({ preventScroll: true });
        toast(preview.dataset.saved || "");
      } catch (err) {
        toast((preview.dataset.failed || "") + " (" + err.message + ")", true);
      }
    });
  });
})();
