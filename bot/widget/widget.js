/*
 * Larkspur chat widget. One tag puts it on any page:
 *
 *   <script>window.larkspurChat = { lang: "en" };</script>        (optional)
 *   <script src="https://<agent host>/webhooks/widget/widget.js" defer></script>
 *
 * Options in window.larkspurChat (all optional):
 *   identity  {customer_id, signature} or {jwt}: a signed-in shopper, signed by the shop's
 *             server with WIDGET_IDENTITY_SECRET (docs/channels.md: Website widget)
 *   lang      "en" or "de" (default: the page's <html lang>)
 *   texts     {key: text} overriding any of TEXTS below, e.g. {title: "Help"} for the heading
 *   server    the agent's origin (default: where this script came from)
 *   open      true to start open
 * Theme with CSS variables on the page, e.g. #larkspur-chat { --lk-accent: #0b6e4f; }.
 *
 * It speaks socket.io (Engine.IO 4) over a WebSocket to the agent's widget channel
 * (bot/channels/widget.py). No framework, no dependency; everything lives in a shadow root, so
 * the page's styles and the widget's never mix. Every text is put in the page as text: only
 * **bold** and http(s)/mailto links of bot messages become elements, built one by one.
 */
(() => {
  "use strict";
  if (window.LarkspurChat) return;

  const SCRIPT = document.currentScript;
  const CONFIG = Object.assign({}, window.larkspurChat || {});
  const SERVER = (CONFIG.server || (SCRIPT ? new URL(SCRIPT.src).origin : location.origin))
    .replace(/\/$/, "");
  const STORE = `larkspur-chat:${SERVER}`;
  const MAX_CHARS = 2000;
  const MAX_DELAY_MS = 30000;

  const TEXTS = {
    en: {
      title: "Larkspur help",
      open: "Chat with us",
      openUnread: "Chat with us ({count} unread)",
      minimise: "Minimise chat",
      placeholder: "Type your message…",
      send: "Send",
      log: "Conversation",
      connecting: "Connecting…",
      offline: "We can't reach the assistant right now. Trying again in {seconds} s.",
      retry: "Try now",
      sending: "Sending…",
      failed: "This message could not be handled. Please try again.",
      tooLong: "That message is too long: at most {limit} characters.",
      typing: "The assistant is typing…",
      you: "You",
      bot: "Assistant",
      image: "Image from the assistant",
      agentJoined: "{name} joined the conversation",
      agentLeft: "{name} left the conversation",
      agentName: "A support agent",
      signedIn: "Signed in",
    },
    de: {
      title: "Larkspur-Hilfe",
      open: "Chatten Sie mit uns",
      openUnread: "Chatten Sie mit uns ({count} ungelesen)",
      minimise: "Chat minimieren",
      placeholder: "Ihre Nachricht…",
      send: "Senden",
      log: "Unterhaltung",
      connecting: "Verbindung wird aufgebaut…",
      offline: "Der Assistent ist gerade nicht erreichbar. Neuer Versuch in {seconds} s.",
      retry: "Jetzt versuchen",
      sending: "Wird gesendet…",
      failed: "Diese Nachricht konnte nicht verarbeitet werden. Bitte versuchen Sie es erneut.",
      tooLong: "Diese Nachricht ist zu lang: höchstens {limit} Zeichen.",
      typing: "Der Assistent schreibt…",
      you: "Sie",
      bot: "Assistent",
      image: "Bild vom Assistenten",
      agentJoined: "{name} ist der Unterhaltung beigetreten",
      agentLeft: "{name} hat die Unterhaltung verlassen",
      agentName: "Ein Support-Mitarbeiter",
      signedIn: "Angemeldet",
    },
  };
  const LANG = String(CONFIG.lang || document.documentElement.lang || "en").slice(0, 2);
  const WORDS = Object.assign({}, TEXTS.en, TEXTS[LANG] || {}, CONFIG.texts || {});
  const say = (key, values = {}) =>
    String(WORDS[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));

  const CSS = `
:host { all: initial; }
.lk { --accent: var(--lk-accent, #3b5bdb); --accent-text: var(--lk-accent-text, #fff);
  --bg: var(--lk-background, #fff); --text: var(--lk-text, #1f2328);
  --bot: var(--lk-bot-bubble, #f1f3f5); --customer: var(--lk-customer-bubble, var(--accent));
  --customer-text: var(--lk-customer-text, var(--accent-text)); --muted: var(--lk-muted, #57606a);
  --radius: var(--lk-radius, 14px); --font: var(--lk-font, system-ui, -apple-system, "Segoe UI", sans-serif);
  font: 15px/1.45 var(--font); color: var(--text); position: fixed; right: 20px; bottom: 20px;
  z-index: var(--lk-z-index, 2147483000); display: flex; flex-direction: column; align-items: flex-end; gap: 12px; }
.launcher { position: relative; width: 60px; height: 60px; border-radius: 50%; border: 0; cursor: pointer;
  background: var(--accent); color: var(--accent-text); box-shadow: 0 4px 14px rgba(0,0,0,.25); }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  box-sizing: border-box; border-radius: 11px; background: #d1242f; color: #fff; font-size: 12px;
  font-weight: 700; line-height: 22px; text-align: center; }
.panel { width: 370px; height: min(600px, calc(100vh - 110px)); background: var(--bg); border-radius: var(--radius);
  box-shadow: 0 8px 30px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden; }
.panel[hidden], .badge[hidden], .typing[hidden], .status[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: var(--accent); color: var(--accent-text); }
header h2 { flex: 1; margin: 0; font-size: 16px; }
.signed-in { font-size: 12px; opacity: .85; }
.minimise { border: 0; background: transparent; color: inherit; font-size: 22px; line-height: 1; cursor: pointer;
  width: 32px; height: 32px; border-radius: 6px; }
.status { padding: 8px 14px; background: #fff8c5; color: #3b2300; font-size: 13px; display: flex; gap: 8px; align-items: center; }
.status button { margin-left: auto; border: 1px solid currentColor; background: transparent; color: inherit; border-radius: 6px; cursor: pointer; }
.log { flex: 1; overflow-y: auto; margin: 0; padding: 14px; list-style: none; display: flex; flex-direction: column; gap: 10px; }
.msg { display: flex; flex-direction: column; max-width: 85%; }
.msg.bot { align-self: flex-start; } .msg.customer { align-self: flex-end; align-items: flex-end; }
.msg.notice { align-self: center; max-width: 100%; color: var(--muted); font-size: 13px; font-style: italic; }
.bubble { padding: 8px 12px; border-radius: var(--radius); white-space: normal; overflow-wrap: anywhere; }
.bot .bubble { background: var(--bot); border-bottom-left-radius: 4px; }
.customer .bubble { background: var(--customer); color: var(--customer-text); border-bottom-right-radius: 4px; white-space: pre-wrap; }
.bubble p { margin: 0; } .bubble p + p { margin-top: 8px; }
.bubble a { color: inherit; text-decoration: underline; }
.bubble img { display: block; max-width: 100%; border-radius: 8px; }
.meta { font-size: 11px; color: var(--muted); margin: 2px 4px 0; }
.msg.pending .bubble { opacity: .65; } .msg.failed .bubble { outline: 2px solid #d1242f; }
.buttons { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.buttons button { border: 1px solid var(--accent); background: var(--bg); color: var(--accent); border-radius: 16px;
  padding: 5px 12px; font: inherit; font-size: 14px; cursor: pointer; }
.buttons button:disabled { cursor: default; opacity: .55; }
.buttons button.chosen { background: var(--accent); color: var(--accent-text); opacity: 1; }
.typing { padding: 0 14px 8px; display: flex; gap: 4px; }
.typing span { width: 7px; height: 7px; border-radius: 50%; background: var(--muted); animation: blink 1.2s infinite both; }
.typing span:nth-child(2) { animation-delay: .2s; } .typing span:nth-child(3) { animation-delay: .4s; }
@keyframes blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid rgba(0,0,0,.08); }
textarea { flex: 1; resize: none; border: 1px solid rgba(0,0,0,.2); border-radius: 10px; padding: 8px 10px; font: inherit;
  color: var(--text); background: var(--bg); max-height: 120px; }
form button { border: 0; border-radius: 10px; padding: 0 14px; background: var(--accent); color: var(--accent-text); font: inherit; cursor: pointer; }
button:focus-visible, textarea:focus-visible, .log:focus-visible { outline: 3px solid #f08c00; outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  .lk[data-open="true"] { inset: 0; right: 0; bottom: 0; }
  .lk[data-open="true"] .panel { width: 100vw; height: 100%; border-radius: 0; }
  .lk[data-open="true"] .launcher { display: none; }
}
@media (prefers-reduced-motion: reduce) { .typing span { animation: none; } }
`;

  // --- small DOM helpers: every text goes in through textContent ----------------------------
  const make = (tag, attributes = {}, text) => {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    if (text !== undefined) element.textContent = text;
    return element;
  };

  const SAFE_PROTOCOLS = ["http:", "https:", "mailto:"];
  const INLINE = /\*\*([^*\n]+)\*\*|\[([^\]\n]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)'])/g;

  function link(href, label, original) {
    let url;
    try {
      url = new URL(href);
    } catch (_) {
      return document.createTextNode(original);
    }
    if (!SAFE_PROTOCOLS.includes(url.protocol)) return document.createTextNode(original);
    const anchor = make("a", { href: url.href, target: "_blank", rel: "noopener noreferrer" }, label);
    return anchor;
  }

  /** Bot text: paragraphs, line breaks, **bold** and links; everything else stays text. */
  function formatted(text) {
    const fragment = document.createDocumentFragment();
    for (const paragraph of String(text).split(/\n{2,}/)) {
      const p = make("p");
      paragraph.split("\n").forEach((line, index) => {
        if (index) p.append(make("br"));
        let last = 0;
        for (const match of line.matchAll(INLINE)) {
          p.append(line.slice(last, match.index));
          if (match[1] !== undefined) p.append(make("strong", {}, match[1]));
          else if (match[2] !== undefined) p.append(link(match[3], match[2], match[0]));
          else p.append(link(match[4], match[4], match[0]));
          last = match.index + match[0].length;
        }
        p.append(line.slice(last));
      });
      fragment.append(p);
    }
    return fragment;
  }

  const clock = new Intl.DateTimeFormat(LANG, { hour: "2-digit", minute: "2-digit" });
  const fullDate = new Intl.DateTimeFormat(LANG, { dateStyle: "medium", timeStyle: "short" });
  function stamp(seconds) {
    const when = new Date((seconds || Date.now() / 1000) * 1000);
    return make("time", { datetime: when.toISOString(), title: fullDate.format(when) }, clock.format(when));
  }

  const uuid = () =>
    crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)),
      (b) => b.toString(16).padStart(2, "0")).join("");

  function load(key, fallback) {
    try {
      return JSON.parse(localStorage.getItem(`${STORE}:${key}`)) ?? fallback;
    } catch (_) {
      return fallback;
    }
  }
  function keep(key, value) {
    try {
      localStorage.setItem(`${STORE}:${key}`, JSON.stringify(value));
    } catch (_) { /* private mode: the conversation lasts as long as the page */ }
  }

  // --- socket.io over one WebSocket (Engine.IO protocol 4, socket.io protocol 5) -------------
  class Connection {
    constructor(url, handlers) {
      this.url = url;
      this.handlers = handlers;
      this.acks = new Map();
      this.nextAck = 0;
      this.ws = null;
      this.heartbeat = null;
      this.silenceMs = 45000;
    }

    open() {
      this.close();
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onmessage = (event) => this.receive(String(event.data));
      // Until the server's first packet, the same patience as for a silent link.
      this.heartbeat = setTimeout(() => ws.close(), 20000);
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.ws = null;
        clearTimeout(this.heartbeat);
        for (const ack of this.acks.values()) ack(null);
        this.acks.clear();
        this.handlers.closed();
      };
    }

    close() {
      if (!this.ws) return;
      const ws = this.ws;
      this.ws = null;
      clearTimeout(this.heartbeat);
      ws.close();
      for (const ack of this.acks.values()) ack(null);
      this.acks.clear();
    }

    alive() {
      clearTimeout(this.heartbeat);
      // The server pings every pingInterval; silence beyond that means the link is gone.
      this.heartbeat = setTimeout(() => this.ws && this.ws.close(), this.silenceMs);
    }

    receive(data) {
      const type = data[0];
      if (type === "0") {
        const open = JSON.parse(data.slice(1));
        this.silenceMs = open.pingInterval + open.pingTimeout;
        this.alive();
        this.ws.send("40");
      } else if (type === "2") {
        this.alive();
        this.ws.send("3");
      } else if (type === "4") {
        this.packet(data.slice(1));
      } else if (type === "1") {
        this.ws.close();
      }
    }

    packet(data) {
      const match = /^(\d)(\d*)([\s\S]*)$/.exec(data);
      if (!match) return;
      const [, type, id, body] = match;
      const payload = body ? JSON.parse(body) : null;
      if (type === "0") this.handlers.connected();
      else if (type === "2" && Array.isArray(payload)) this.handlers.event(payload[0], payload[1]);
      else if (type === "3") {
        const ack = this.acks.get(Number(id));
        this.acks.delete(Number(id));
        if (ack) ack(Array.isArray(payload) ? payload[0] : null);
      } else if (type === "1" || type === "4") this.ws.close();
    }

    emit(event, data, ack) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
      let id = "";
      if (ack) {
        id = String(++this.nextAck);
        this.acks.set(Number(id), ack);
      }
      this.ws.send(`42${id}${JSON.stringify([event, data])}`);
      return true;
    }
  }

  // --- the widget ------------------------------------------------------------------------------
  class Widget {
    constructor() {
      this.host = make("div", { id: "larkspur-chat" });
      this.root = this.host.attachShadow({ mode: "open" });
      this.sessionId = load("session", null);
      this.outbox = load("outbox", []); // messages not yet acknowledged, kept across reloads
      this.sending = false;
      this.ready = false;
      this.attempt = 0;
      this.retryTimer = null;
      this.countdown = null;
      this.unread = 0;
      this.build();
      document.body.append(this.host);
      this.connection = new Connection(
        `${SERVER.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`,
        {
          connected: () => this.connected(),
          closed: () => this.disconnected(),
          event: (name, data) => this.event(name, data),
        },
      );
      const wasOpen = sessionStorage.getItem(`${STORE}:open`);
      this.setOpen(wasOpen === null ? Boolean(CONFIG.open) : wasOpen === "true", false);
      this.showStatus("connecting");
      this.connection.open();
      window.addEventListener("online", () => this.retryNow());
    }

    build() {
      this.root.append(make("style", {}, CSS));
      const box = make("div", { class: "lk", "data-open": "false" });
      this.box = box;
      this.panel = make("section", { class: "panel", id: "lk-panel", role: "dialog", "aria-labelledby": "lk-title", hidden: "" });
      const header = make("header");
      header.append(make("h2", { id: "lk-title" }, say("title")));
      this.signedIn = make("span", { class: "signed-in", hidden: "" }, say("signedIn"));
      this.minimise = make("button", { type: "button", class: "minimise", "aria-label": say("minimise"), title: say("minimise") }, "–");
      this.minimise.addEventListener("click", () => this.setOpen(false, true));
      header.append(this.signedIn, this.minimise);

      this.status = make("div", { class: "status", role: "status", hidden: "" });
      this.log = make("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": say("log"), tabindex: "0" });
      this.typing = make("div", { class: "typing", hidden: "", role: "status", "aria-label": say("typing") });
      this.typing.append(make("span"), make("span"), make("span"));

      const form = make("form", { class: "composer" });
      const label = make("label", { for: "lk-input", class: "sr-only" }, say("placeholder"));
      this.input = make("textarea", { id: "lk-input", rows: "1", maxlength: String(MAX_CHARS), placeholder: say("placeholder"), autocomplete: "off" });
      const send = make("button", { type: "submit" }, say("send"));
      form.append(label, this.input, send);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submit();
        }
      });
      this.panel.append(header, this.status, this.log, this.typing, form);
      this.panel.addEventListener("keydown", (event) => {
        if (event.key === "Escape") this.setOpen(false, true);
      });

      this.launcher = make("button", { type: "button", class: "launcher", "aria-controls": "lk-panel", "aria-expanded": "false", "aria-label": say("open"), title: say("open") });
      const svgNS = "http://www.w3.org/2000/svg";
      const icon = document.createElementNS(svgNS, "svg");
      icon.setAttribute("viewBox", "0 0 24 24");
      icon.setAttribute("aria-hidden", "true");
      const path = document.createElementNS(svgNS, "path");
      path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z");
      icon.append(path);
      this.badge = make("span", { class: "badge", hidden: "", "aria-hidden": "true" });
      this.launcher.append(icon, this.badge);
      this.launcher.addEventListener("click", () => this.setOpen(!this.isOpen, true));
      box.append(this.panel, this.launcher);
      this.root.append(box);
    }

    get isOpen() {
      return !this.panel.hidden;
    }

    setOpen(open, moveFocus) {
      this.panel.hidden = !open;
      this.box.dataset.open = String(open);
      this.launcher.setAttribute("aria-expanded", String(open));
      sessionStorage.setItem(`${STORE}:open`, String(open));
      if (open) {
        this.unread = 0;
        this.log.scrollTop = this.log.scrollHeight;
        if (moveFocus) this.input.focus();
      } else if (moveFocus) {
        this.launcher.focus();
      }
      this.showUnread();
    }

    showUnread() {
      this.badge.hidden = this.unread === 0;
      this.badge.textContent = String(this.unread);
      const label = this.unread ? say("openUnread", { count: this.unread }) : say("open");
      this.launcher.setAttribute("aria-label", label);
      this.launcher.title = label;
    }

    // --- connection ----------------------------------------------------------------------------
    connected() {
      this.connection.emit("session_request", { session_id: this.sessionId, identity: CONFIG.identity || null });
    }

    disconnected() {
      this.ready = false;
      this.sending = false;
      this.typing.hidden = true;
      this.attempt += 1;
      const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** (this.attempt - 1)) * (0.8 + Math.random() * 0.4);
      const until = Date.now() + delay;
      const tick = () => {
        this.showStatus("offline", Math.max(1, Math.ceil((until - Date.now()) / 1000)));
      };
      tick();
      clearInterval(this.countdown);
      this.countdown = setInterval(tick, 1000);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.retryNow(), delay);
    }

    retryNow() {
      if (this.ready) return;
      clearTimeout(this.retryTimer);
      clearInterval(this.countdown);
      this.showStatus("connecting");
      this.connection.open();
    }

    showStatus(state, seconds) {
      this.status.replaceChildren();
      if (state === "online") {
        this.status.hidden = true;
        return;
      }
      this.status.hidden = false;
      if (state === "connecting") {
        this.status.append(make("span", {}, say("connecting")));
        return;
      }
      this.status.append(make("span", {}, say("offline", { seconds })));
      const retry = make("button", { type: "button" }, say("retry"));
      retry.addEventListener("click", () => this.retryNow());
      this.status.append(retry);
    }

    // --- events from the agent -----------------------------------------------------------------
    event(name, data) {
      if (name === "session_confirm") {
        this.sessionId = data.session_id;
        keep("session", this.sessionId);
        this.signedIn.hidden = !data.signed_in;
      } else if (name === "history") {
        this.log.replaceChildren();
        const messages = Array.isArray(data.messages) ? data.messages : [];
        messages.forEach((message, index) => this.show(message, { live: false, last: index === messages.length - 1 }));
        for (const item of this.outbox) item.element = this.showCustomer(item.display, null, "pending");
        this.ready = true;
        this.attempt = 0;
        clearInterval(this.countdown);
        this.showStatus("online");
        this.flush();
      } else if (name === "bot_uttered") {
        this.show(data, { live: true, last: true });
      } else if (name === "user_echo") {
        this.show(data, { live: false, last: true });
      } else if (name === "typing") {
        this.typing.hidden = !data.typing;
      }
    }

    show(message, { live, last }) {
      if (!message || typeof message !== "object") return;
      if (message.sender === "customer") {
        this.showCustomer(message.text, message.timestamp);
        return;
      }
      const custom = message.custom;
      if (custom && (custom.notice === "agent_joined" || custom.notice === "agent_left")) {
        const name = typeof custom.name === "string" && custom.name ? custom.name : say("agentName");
        this.notice(say(custom.notice === "agent_joined" ? "agentJoined" : "agentLeft", { name }));
        return;
      }
      if (!message.text && !message.image) return;
      const item = make("li", { class: "msg bot" });
      item.append(make("span", { class: "sr-only" }, `${say("bot")}: `));
      const bubble = make("div", { class: "bubble" });
      if (message.text) bubble.append(formatted(message.text));
      if (typeof message.image === "string" && /^https?:\/\//i.test(message.image)) {
        bubble.append(make("img", { src: message.image, alt: say("image"), loading: "lazy" }));
      }
      item.append(bubble);
      if (Array.isArray(message.buttons) && message.buttons.length) {
        item.append(this.buttons(message.buttons, last));
      }
      const meta = make("div", { class: "meta" });
      meta.append(stamp(message.timestamp));
      item.append(meta);
      this.append(item);
      if (live && !this.isOpen) {
        this.unread += 1;
        this.showUnread();
      }
    }

    buttons(buttons, active) {
      const group = make("div", { class: "buttons", role: "group" });
      for (const button of buttons) {
        const title = String(button.title || button.payload || "");
        const element = make("button", { type: "button" }, title);
        element.disabled = !active;
        element.addEventListener("click", () => {
          for (const other of group.querySelectorAll("button")) other.disabled = true;
          element.classList.add("chosen");
          this.send(String(button.payload || title), title);
          this.input.focus(); // the chosen button is now disabled and would drop the focus
        });
        group.append(element);
      }
      return group;
    }

    showCustomer(text, timestamp, state) {
      const item = make("li", { class: `msg customer${state ? ` ${state}` : ""}` });
      item.append(make("span", { class: "sr-only" }, `${say("you")}: `));
      item.append(make("div", { class: "bubble" }, text));
      const meta = make("div", { class: "meta" });
      meta.append(state === "pending" ? make("span", {}, say("sending")) : stamp(timestamp));
      item.append(meta);
      this.append(item);
      return item;
    }

    append(item) {
      // Buttons of earlier messages are answered or overtaken: only the newest stay usable.
      for (const old of this.log.querySelectorAll(".buttons button:not(.chosen)")) old.disabled = true;
      this.log.append(item);
      this.log.scrollTop = this.log.scrollHeight;
    }

    notice(text) {
      this.append(make("li", { class: "msg notice" }, text));
    }

    // --- messages from the customer --------------------------------------------------------------
    submit() {
      const text = this.input.value.trim();
      if (!text) return;
      if (text.length > MAX_CHARS) {
        this.notice(say("tooLong", { limit: MAX_CHARS }));
        return;
      }
      this.input.value = "";
      this.send(text, text);
    }

    send(text, display) {
      const item = { id: uuid(), text, display };
      this.outbox.push(item);
      this.keepOutbox();
      item.element = this.showCustomer(display, null, "pending");
      this.flush();
    }

    /** Keep the unsent messages in the browser (without their elements), for a reload. */
    keepOutbox() {
      keep("outbox", this.outbox.map(({ id, text, display }) => ({ id, text, display })));
    }

    /** Send the oldest unacknowledged message; the next goes when the agent has answered. */
    flush() {
      if (!this.ready || this.sending || !this.outbox.length) return;
      const item = this.outbox[0];
      this.sending = true;
      const sent = this.connection.emit("user_uttered", { message: item.text, id: item.id }, (reply) => {
        this.sending = false;
        if (reply === null) return; // the connection dropped: sent again after reconnecting
        this.outbox.shift();
        this.keepOutbox();
        const meta = item.element && item.element.querySelector(".meta");
        item.element.classList.remove("pending");
        if (meta) meta.replaceChildren(stamp());
        if (!reply.ok) {
          item.element.classList.add("failed");
          this.notice(reply.error === "too_long" ? say("tooLong", { limit: reply.limit }) : say("failed"));
        }
        this.flush();
      });
      if (!sent) this.sending = false;
    }
  }

  function start() {
    const widget = new Widget();
    window.LarkspurChat = {
      open: () => widget.setOpen(true, true),
      close: () => widget.setOpen(false, false),
    };
  }

  window.LarkspurChat = { open() {}, close() {} };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
