// Progressive enhancement of the upload page: drag-and-drop, checking a file as soon as it is
// chosen, a progress card while a checked file is sent, focus and announcements for the
// outcome, and the automatic download.
// Everything here is optional: without it the page is a plain form post.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Django's JavaScriptCatalog (/i18n/catalog.js, loaded first) defines gettext and
  // interpolate in the page's language; English stands in if it failed to load.
  var _ = window.gettext || function (text) { return text; };
  var fill = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (match, key) { return values[key]; });
  };
  // A file name or code inside a right-to-left sentence keeps its own order (bidi isolates);
  // left-to-right text needs none.
  var RTL = document.documentElement.dir === "rtl";
  function isolate(text) { return RTL ? "\u2068" + text + "\u2069" : text; }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function line(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  // The confirm form carries what the server read from the file (one parser, on the server).
  function showProgress(outcome, name, meta) {
    var card = document.createElement("section");
    card.className = "card panel progress-card";
    card.setAttribute("aria-busy", "true");
    card.setAttribute("aria-labelledby", "progress-heading");
    var heading = document.createElement("h2");
    heading.id = "progress-heading";
    heading.textContent = _("Sending your request…");
    card.appendChild(heading);
    card.appendChild(line("file-name", fill(_("File: %(name)s"), { name: isolate(name) }, true)));
    card.appendChild(line("meta", meta));
    var status = line("meta", _("Uploading…"));
    status.dataset.requestStatus = "";
    card.appendChild(status);
    var bar = document.createElement("div");
    bar.className = "progress-bar";
    bar.appendChild(document.createElement("span"));
    card.appendChild(bar);
    outcome.replaceChildren(card);
    announce(fill(_("Sending %(name)s to the licensing service."), { name: isolate(name) }, true));
  }

  // A file dropped on a form's drop zone is taken as if chosen: the input's "change" follows
  // (the upload page checks it; the batch page, batch.js, posts it).
  function enhanceDropzone(form) {
    if (!form) return;
    var zone = form.querySelector("[data-dropzone]");
    var input = form.querySelector("input[type=file]");
    if (!zone || !input) return;
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("is-dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("is-dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
  }

  // Choosing a file checks it at once; nothing is sent upstream until the user confirms.
  function checkOnChoose(form) {
    var input = form.querySelector("input[type=file]");
    if (!input) return;
    input.addEventListener("change", function () {
      // Several files are a batch: a plain post to its check step (portal/batches).
      if (input.files.length > 1 && form.dataset.batchUrl) {
        form.action = form.dataset.batchUrl;
        form.submit();
        return;
      }
      if (input.files.length) form.requestSubmit();
    });
  }

  function onAfterSettle(event) {
    var outcome = event.detail.target;
    if (!outcome || outcome.id !== "outcome") return;
    var form = document.getElementById("upload-form");
    if (!outcome.children.length && form) {
      // "Choose another file": the checked file was dropped; start again from the form.
      form.reset();
      var input = form.querySelector("input[type=file]");
      if (input) input.focus();
      return;
    }
    var panel = outcome.querySelector("[data-announce]");
    if (panel) announce(panel.getAttribute("data-announce"));
    var heading = outcome.querySelector("[data-focus]");
    if (heading) heading.focus();
    var download = outcome.querySelector("[data-auto-download]");
    if (download) {
      download.removeAttribute("data-auto-download");
      download.click();
    }
    var textarea = form && form.querySelector("textarea");
    // The pasted text may carry a password (user-based files): once checked, the server keeps
    // it (encrypted) for the confirm step, so it need not stay on screen.
    if (textarea && outcome.querySelector(".panel-success, [data-send-form]")) textarea.value = "";
  }

  // After a result the upload part of the page folds away, so that the result's heading and
  // download button are in view on a laptop or a phone; "Upload another file" unfolds it.
  function foldAfterResult(event) {
    var outcome = event.detail.target;
    var form = document.getElementById("upload-form");
    if (!form || !outcome || outcome.id !== "outcome") return;
    if (outcome.querySelector(".panel-success")) form.parentElement.classList.add("is-folded");
  }

  // On the result page this is a plain link to the upload page; beside the form, it unfolds it.
  function onUploadAnother(event) {
    var link = event.target.closest && event.target.closest("[data-upload-another]");
    var form = document.getElementById("upload-form");
    if (!link || !form) return;
    event.preventDefault();
    form.parentElement.classList.remove("is-folded");
    link.parentElement.hidden = true;
    var input = form.querySelector("input[type=file]");
    if (input) input.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    enhanceDropzone(document.getElementById("batch-form"));
    var form = document.getElementById("upload-form");
    if (!form) return;
    enhanceDropzone(form);
    checkOnChoose(form);
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      var sendForm = event.target.closest && event.target.closest("[data-send-form]");
      if (!sendForm) return;
      showProgress(document.getElementById("outcome"), sendForm.dataset.filename,
        sendForm.dataset.meta);
    });
    document.body.addEventListener("htmx:xhr:progress", function (event) {
      var status = document.querySelector("[data-request-status]");
      if (!status || !event.detail.lengthComputable) return;
      status.textContent = event.detail.loaded >= event.detail.total
        ? _("Waiting for the licensing service…")
        : fill(_("Uploading… %(percent)s"), {
          percent: Math.round((100 * event.detail.loaded) / event.detail.total) + "%"
        }, true);
    });
    document.body.addEventListener("htmx:sendError", function () {
      var outcome = document.getElementById("outcome");
      var card = document.createElement("section");
      card.className = "card panel panel-error";
      card.setAttribute("aria-labelledby", "outcome-heading");
      var heading = document.createElement("h2");
      heading.id = "outcome-heading";
      heading.tabIndex = -1;
      heading.textContent = _("The portal could not be reached");
      card.appendChild(heading);
      card.appendChild(line("message", _("Check your internet connection, then try again.")));
      var retry = document.createElement("button");
      retry.type = "submit";
      retry.className = "button primary";
      retry.setAttribute("form", "upload-form");
      retry.textContent = _("Try again");
      card.appendChild(retry);
      outcome.replaceChildren(card);
      heading.focus();
      announce(_("The portal could not be reached. Check your internet connection, then try again."));
    });
    document.body.addEventListener("htmx:afterSwap", foldAfterResult);
    document.body.addEventListener("click", onUploadAnother);
    // After settling, not swapping: htmx wires the new content's own forms (the checked file's
    // one button) as it settles, and focus must not reach a button that would post without it.
    document.body.addEventListener("htmx:afterSettle", onAfterSettle);
  });
})();
