// Proof of work for forms marked <form data-pow="BITS"> (server side: intake/pow.py).
// Finds the smallest decimal counter such that SHA-256(challenge + ":" + counter) starts with
// BITS zero bits and writes it into input[name=pow_solution]. A solved form is exempt from the
// shared rate-limit ceiling; an unsolved one (no JavaScript, or submitted early) still submits.
// The same file runs as the page script and as its Web Worker.
"use strict";
(function () {
  var BATCH = 256; // digests in flight at once: WebCrypto is async, so batching is much faster

  // Number of leading zero bits of a digest.
  function zeroBits(buffer) {
    var bytes = new Uint8Array(buffer), n = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] !== 0) return n + Math.clz32(bytes[i]) - 24;
      n += 8;
    }
    return n;
  }

  // Smallest counter (as a string) meeting the difficulty; the await per batch keeps the
  // event loop turning, so this may also run on the main thread.
  async function solve(challenge, bits) {
    var encoder = new TextEncoder();
    for (var start = 0; ; start += BATCH) {
      var pending = [];
      for (var i = 0; i < BATCH; i++) {
        pending.push(crypto.subtle.digest("SHA-256", encoder.encode(challenge + ":" + (start + i))));
      }
      var digests = await Promise.all(pending);
      for (var j = 0; j < BATCH; j++) if (zeroBits(digests[j]) >= bits) return String(start + j);
    }
  }

  // Worker branch: answer one {challenge, bits} message with the counter (null on failure).
  if (typeof window === "undefined") {
    self.onmessage = function (event) {
      solve(String(event.data.challenge), Number(event.data.bits)).then(
        function (counter) { self.postMessage(counter); },
        function () { self.postMessage(null); });
    };
    return;
  }

  if (!(window.crypto && crypto.subtle && window.TextEncoder)) return; // plain form it is
  var source = document.currentScript && document.currentScript.src; // only known at load time

  function start(form) {
    var challenge = form.querySelector("input[name=pow_challenge]");
    var solution = form.querySelector("input[name=pow_solution]");
    var bits = parseInt(form.getAttribute("data-pow"), 10);
    if (!challenge || !solution || !challenge.value || solution.value) return;
    if (!(bits >= 1 && bits <= 32)) return;
    function done(counter) {
      if (typeof counter !== "string") return;
      solution.value = counter;
      form.setAttribute("data-pow-done", "");
    }
    function onMainThread() { solve(challenge.value, bits).then(done, function () {}); }
    var worker = null;
    try { worker = source ? new Worker(source) : null; } catch (e) { worker = null; }
    if (!worker) return onMainThread();
    worker.onmessage = function (event) {
      worker.terminate();
      if (typeof event.data === "string") done(event.data); else onMainThread();
    };
    worker.onerror = function () { worker.terminate(); onMainThread(); }; // e.g. blocked by CSP
    worker.postMessage({ challenge: challenge.value, bits: bits });
  }

  function startAll() {
    var forms = document.querySelectorAll("form[data-pow]");
    for (var i = 0; i < forms.length; i++) start(forms[i]);
  }
  // With <script defer> this waits for DOMContentLoaded; loaded later, it starts at once.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAll);
  else startAll();
})();
